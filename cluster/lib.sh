# Shared by the cluster/ scripts. Sourced, not run.
set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$CLUSTER_DIR")"
RUN="$CLUSTER_DIR/run"
BIN="${POINTMESH_BIN:-$REPO_DIR/.build/release/pointmesh}"
BRIDGE=pmbr0
SUBNET=10.77.0

die() { echo "cluster: $*" >&2; exit 1; }

ensure_binary() {
    if [ ! -x "$BIN" ]; then
        echo "building pointmesh (release)…"
        (cd "$REPO_DIR" && swift build -c release --product pointmesh >/dev/null)
    fi
}

# netns when run as root with iproute2 (nodes get their own network, so cut/heal really cut),
# loopback otherwise (or when POINTMESH_CLUSTER_LOOPBACK=1).
choose_mode() {
    if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && [ "${POINTMESH_CLUSTER_LOOPBACK:-0}" != 1 ]; then
        echo netns
    else
        echo loopback
    fi
}

mode() { cat "$RUN/mode" 2>/dev/null || die "no cluster here; start one with cluster/up N"; }

node_ip() { if [ "$(mode)" = netns ]; then echo "$SUBNET.$((10 + $1))"; else echo 127.0.0.1; fi; }
http_port() { if [ "$(mode)" = netns ]; then echo 8080; else echo $((18080 + $1)); fi; }
gossip_port() { if [ "$(mode)" = netns ]; then echo 7070; else echo $((17070 + $1)); fi; }
node_url() { echo "http://$(node_ip "$1"):$(http_port "$1")"; }

node_indexes() {
    for pidfile in "$RUN"/node-*.pid; do
        [ -e "$pidfile" ] || continue
        basename "$pidfile" .pid | sed 's/node-//'
    done | sort -n
}

setup_bridge() {
    ip link show "$BRIDGE" >/dev/null 2>&1 && return
    ip link add "$BRIDGE" type bridge
    ip addr add "$SUBNET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
}

setup_namespace() {
    local i=$1 ns="pm-$1"
    ip netns add "$ns"
    ip link add "pmv-$i" type veth peer name "pmeth-$i"
    ip link set "pmeth-$i" netns "$ns"
    ip netns exec "$ns" ip addr add "$(node_ip "$i")/24" dev "pmeth-$i"
    ip netns exec "$ns" ip link set "pmeth-$i" up
    ip netns exec "$ns" ip link set lo up
    ip link set "pmv-$i" master "$BRIDGE" up
}

# start_node I [SEED_INDEX]
start_node() {
    local i=$1 seed=${2:-} ip args
    ip=$(node_ip "$i")
    args=(serve --data "$RUN/node-$i" --node-id "store-$i" --http "$ip:$(http_port "$i")" --gossip "$ip:$(gossip_port "$i")")
    [ -n "$seed" ] && args+=(--seed "$(node_ip "$seed"):$(gossip_port "$seed")")
    [ -f "$RUN/cluster.key" ] && args+=(--cluster-key-file "$RUN/cluster.key")
    : > "$RUN/node-$i.out"
    if [ "$(mode)" = netns ]; then
        ip netns list | grep -qw "pm-$i" || setup_namespace "$i"
        ip netns exec "pm-$i" "$BIN" "${args[@]}" > "$RUN/node-$i.out" 2> "$RUN/node-$i.log" &
    else
        "$BIN" "${args[@]}" > "$RUN/node-$i.out" 2> "$RUN/node-$i.log" &
    fi
    echo $! > "$RUN/node-$i.pid"
    for _ in $(seq 1 300); do
        grep -q "pointmesh ready" "$RUN/node-$i.out" 2>/dev/null && { cat "$RUN/node-$i.out"; return; }
        kill -0 "$(cat "$RUN/node-$i.pid")" 2>/dev/null || die "node $i exited; see $RUN/node-$i.log"
        sleep 0.1
    done
    die "node $i did not become ready; see $RUN/node-$i.log"
}
