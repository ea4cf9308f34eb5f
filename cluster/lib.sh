# Shared by the cluster/ scripts. Sourced, not run.
#
# Needs bash, coreutils, grep and sed, and the pointmesh binary; iproute2 (`ip`) and root for
# the network-namespace mode. Nothing else (no jq, no python): JSON is read by json_flatten below.
#
# Everything a script needs to know about the running cluster is recorded in cluster/run/ by
# cluster/up, never taken from the environment afterwards:
#   run/mode           netns or loopback (removed by cluster/down)
#   run/bin            the pointmesh binary cluster/up started (removed by cluster/down)
#   run/node-I/        node I's data directory (kept by cluster/down, removed by --purge)
#   run/node-I.id      node I's node id (store-I, or store-I-G once store-I was retired)
#   run/node-I.pid     node I's process while it runs; .out/.log its standard output/error
#   run/retired-ids    node ids cluster/up retired, one a line (never reused)
#   run/retired/       data directories of retired nodes, kept for inspection
#   run/cluster.key    the generated cluster key (netns mode)
#   run/tokens.json    the nodes' tokens file, and run/admin.token its admin token (netns mode:
#                      HTTP beyond loopback needs tokens; the scripts send it as POINTMESH_TOKEN)
set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$CLUSTER_DIR")"
RUN="$CLUSTER_DIR/run"
BRIDGE=pmbr0
SUBNET=10.77.0

die() { echo "cluster: $*" >&2; exit 1; }

# The mode and binary of the running cluster, as cluster/up recorded them (empty when none).
MODE=$(cat "$RUN/mode" 2>/dev/null || true)
# The admin token of a netns cluster, for every pointmesh command the scripts run.
if [ -s "$RUN/admin.token" ] && [ -z "${POINTMESH_TOKEN:-}" ]; then export POINTMESH_TOKEN; POINTMESH_TOKEN=$(cat "$RUN/admin.token"); fi
if [ -s "$RUN/bin" ]; then BIN=$(cat "$RUN/bin"); else BIN="${POINTMESH_BIN:-$REPO_DIR/.build/release/pointmesh}"; fi

# require_cluster: die unless cluster/up has started a cluster here (and its binary is there).
require_cluster() {
    [ -n "$MODE" ] || die "no cluster running here; start one with cluster/up N"
    case "$MODE" in netns|loopback) ;; *) die "$RUN/mode holds '$MODE', expected netns or loopback";; esac
    wait_for_binary
}

# The binary can be replaced by a rebuild while a cluster runs: give it a few seconds to reappear.
wait_for_binary() {
    for _ in $(seq 1 50); do [ -x "$BIN" ] && return; sleep 0.2; done
    die "pointmesh binary $BIN is missing"
}

ensure_binary() {
    if [ ! -x "$BIN" ]; then
        echo "building pointmesh (release)…"
        (cd "$REPO_DIR" && swift build -c release --product pointmesh >/dev/null)
    fi
}

# netns when run as root with iproute2 (nodes get their own network, so cut/heal really cut),
# loopback otherwise, or when asked for: cluster/up --loopback, or POINTMESH_CLUSTER_LOOPBACK=1.
choose_mode() {
    local want_loopback=${1:-0}
    if [ "$want_loopback" != 1 ] && [ "${POINTMESH_CLUSTER_LOOPBACK:-0}" != 1 ] \
        && [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null; then
        echo netns
    else
        echo loopback
    fi
}

# require_netns WHAT I: die with a clear message unless the running cluster uses namespaces and
# we can change its links.
require_netns() {
    local what=$1 i=${2:-I}
    require_cluster
    if [ "$MODE" != netns ]; then
        die "$what needs the network-namespace mode, but this cluster was started in loopback mode
(cluster/up as a non-root user, or with --loopback / POINTMESH_CLUSTER_LOOPBACK=1).
Restart it as root without the switch (cluster/down; sudo cluster/up N), or, on loopback, stop a
node instead: kill -STOP \$(cat $RUN/node-$i.pid), kill -CONT to resume (a store that is down,
not one that is offline but serving)."
    fi
    [ "$(id -u)" -eq 0 ] || die "$what changes the namespaces cluster/up created as root: run it as root"
    command -v ip >/dev/null || die "$what needs iproute2's ip command, which is not on PATH"
}

node_ip() { if [ "$MODE" = netns ]; then echo "$SUBNET.$((10 + $1))"; else echo 127.0.0.1; fi; }
http_port() { if [ "$MODE" = netns ]; then echo 8080; else echo $((18080 + $1)); fi; }
gossip_port() { if [ "$MODE" = netns ]; then echo 7070; else echo $((17070 + $1)); fi; }
node_url() { echo "http://$(node_ip "$1"):$(http_port "$1")"; }

# Indexes of the nodes started (pid files), ascending.
node_indexes() {
    for pidfile in "$RUN"/node-*.pid; do
        [ -e "$pidfile" ] || continue
        basename "$pidfile" .pid | sed 's/node-//'
    done | sort -n
}

# Indexes of every node with a data directory (running or not), ascending.
data_indexes() {
    for dir in "$RUN"/node-*; do
        [ -d "$dir" ] || continue
        basename "$dir" | sed -n 's/^node-\([0-9][0-9]*\)$/\1/p'
    done | sort -n
}

node_pid() { cat "$RUN/node-$1.pid" 2>/dev/null || true; }
# Is node I's process alive? (/proc too: kill -0 fails on another user's process.)
node_running() {
    local pid; pid=$(node_pid "$1")
    [ -n "$pid" ] && { kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ]; }
}

# require_node I: die unless I is a node index this cluster started and it runs.
require_node() {
    local i=$1
    [[ "$i" =~ ^[0-9]+$ ]] || die "node index must be a number, got '$i'"
    [ -f "$RUN/node-$i.pid" ] || die "there is no node $i (nodes: $(echo $(node_indexes)))"
    node_running "$i" || die "node $i is not running (see $RUN/node-$i.log)"
}

# The node id node I has (or will get): recorded when its data directory was made.
node_id() {
    if [ -s "$RUN/node-$1.id" ]; then cat "$RUN/node-$1.id"; else echo "store-$1"; fi
}

# Is ID retired? Asks the list cluster/up keeps and, when it runs, node 1 (ids retired by hand).
is_retired_id() {
    if [ -f "$RUN/retired-ids" ] && grep -qxF -- "$1" "$RUN/retired-ids"; then return 0; fi
    node_running 1 || return 1
    local json path value
    json=$("$BIN" status --node "$(node_url 1)" --json 2>/dev/null) || return 1
    while IFS=$'\t' read -r path value; do
        if [[ "$path" == retired/* && "$value" == "$1" ]]; then return 0; fi
    done < <(printf '%s' "$json" | json_flatten)
    return 1
}

# A node id for a new data directory at index I: store-I, or store-I-2, -3… when store-I was
# retired (a retired id is refused forever).
fresh_node_id() {
    local i=$1 id="store-$1" generation=1
    while is_retired_id "$id"; do generation=$((generation + 1)); id="store-$i-$generation"; done
    echo "$id"
}

setup_bridge() {
    ip link show "$BRIDGE" >/dev/null 2>&1 && return
    ip link add "$BRIDGE" type bridge
    ip addr add "$SUBNET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
}

remove_namespace() {
    ip link del "pmv-$1" 2>/dev/null || true
    ip netns del "pm-$1" 2>/dev/null || true
}

setup_namespace() {
    local i=$1 ns="pm-$1"
    remove_namespace "$i"    # leftovers of a run that did not end with cluster/down
    ip netns add "$ns"
    ip link add "pmv-$i" type veth peer name "pmeth-$i"
    ip link set "pmeth-$i" netns "$ns"
    ip netns exec "$ns" ip addr add "$(node_ip "$i")/24" dev "pmeth-$i"
    ip netns exec "$ns" ip link set "pmeth-$i" up
    ip netns exec "$ns" ip link set lo up
    ip link set "pmv-$i" master "$BRIDGE" up
}

# Is node I cut off (netns mode, its link down)?
node_cut() {
    [ "$MODE" = netns ] || return 1
    local flags
    flags=$(ip -o link show "pmv-$1" 2>/dev/null) || return 1
    local up_re='<([A-Z_]+,)*UP[,>]'
    ! [[ "$flags" =~ $up_re ]]
}

# start_node I [SEED_INDEX] [quiet]
start_node() {
    local i=$1 seed=${2:-} quiet=${3:-} ip id args
    if [ "$MODE" = netns ] && [ "$i" -gt 244 ]; then die "netns mode has addresses for nodes 1-244 only"; fi
    ip=$(node_ip "$i")
    if [ ! -d "$RUN/node-$i" ] || [ ! -s "$RUN/node-$i.id" ]; then
        [ -d "$RUN/node-$i" ] && id="store-$i" || id=$(fresh_node_id "$i")
        echo "$id" > "$RUN/node-$i.id"
    fi
    id=$(node_id "$i")
    args=(serve --data "$RUN/node-$i" --node-id "$id" --http "$ip:$(http_port "$i")" --gossip "$ip:$(gossip_port "$i")")
    [ -n "$seed" ] && args+=(--seed "$(node_ip "$seed"):$(gossip_port "$seed")")
    [ -f "$RUN/cluster.key" ] && args+=(--cluster-key-file "$RUN/cluster.key")
    # The namespaces' private link is the network the tokens cross in clear (no HTTPS yet).
    [ "$MODE" = netns ] && [ -f "$RUN/tokens.json" ] && args+=(--tokens-file "$RUN/tokens.json" --http-insecure)
    : > "$RUN/node-$i.out"
    if [ "$MODE" = netns ]; then
        setup_namespace "$i"
        ip netns exec "pm-$i" "$BIN" "${args[@]}" > "$RUN/node-$i.out" 2> "$RUN/node-$i.log" &
    else
        "$BIN" "${args[@]}" > "$RUN/node-$i.out" 2> "$RUN/node-$i.log" &
    fi
    echo $! > "$RUN/node-$i.pid"
    for _ in $(seq 1 300); do
        if grep -q "pointmesh ready" "$RUN/node-$i.out" 2>/dev/null; then
            [ -n "$quiet" ] || cat "$RUN/node-$i.out"
            return
        fi
        node_running "$i" || die "node $i exited; see $RUN/node-$i.log"
        sleep 0.1
    done
    die "node $i did not become ready; see $RUN/node-$i.log"
}

# stop_node I: SIGTERM (SIGKILL after 10 s) by PID, then remove its namespace.
stop_node() {
    local i=$1 pid
    pid=$(node_pid "$i")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$RUN/node-$i.pid"
    if [ "$MODE" = netns ]; then remove_namespace "$i"; fi
}

# node_status_json I: node I's GET /v1/status on stdout; fails when it doesn't answer. A node
# that is cut off is asked from inside its namespace (its own clients still reach it).
node_status_json() {
    local i=$1
    if node_cut "$i"; then
        ip netns exec "pm-$i" "$BIN" status --node "$(node_url "$i")" --json 2>/dev/null
    else
        "$BIN" status --node "$(node_url "$i")" --json 2>/dev/null
    fi
}

# json_flatten: reads one JSON document on stdin and prints one line per scalar, its path
# (object keys and array indexes joined by /) and its value separated by a tab:
#   {"peers":[{"node_id":"store-2"}],"retired":[]}   ->   peers/0/node_id<TAB>store-2
# Strings are unescaped (a newline or tab inside one becomes a space); null prints as null.
json_flatten() {
    local _json
    _json=$(cat)
    _JSON_POS=0
    _json_value "" || die "unreadable JSON from pointmesh near character $_JSON_POS"
}

_json_space() {
    [[ "${_json:_JSON_POS}" =~ ^[[:space:]]+ ]] && _JSON_POS=$((_JSON_POS + ${#BASH_REMATCH[0]}))
    return 0
}

# _json_string: reads a string at _JSON_POS into _JSON_STRING.
_JSON_STRING_RE='^"(([^"\\]|\\.)*)"'
_JSON_SCALAR_RE='^(-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false|null)'
_json_string() {
    [[ "${_json:_JSON_POS}" =~ $_JSON_STRING_RE ]] || return 1
    _JSON_POS=$((_JSON_POS + ${#BASH_REMATCH[0]}))
    local s=${BASH_REMATCH[1]} b=$'\001'
    if [[ "$s" == *\\* ]]; then
        s=${s//\\\\/$b}; s=${s//\\n/ }; s=${s//\\t/ }; s=${s//\\r/ }; s=${s//\\\//\/}; s=${s//\\\"/\"}
        s=${s//$b/\\}
    fi
    _JSON_STRING=$s
}

_json_value() {
    local path=$1 key index
    _json_space
    case "${_json:_JSON_POS:1}" in
        '{')
            _JSON_POS=$((_JSON_POS + 1)); _json_space
            if [ "${_json:_JSON_POS:1}" = '}' ]; then _JSON_POS=$((_JSON_POS + 1)); return 0; fi
            while :; do
                _json_space; _json_string || return 1; key=$_JSON_STRING
                _json_space; [ "${_json:_JSON_POS:1}" = : ] || return 1; _JSON_POS=$((_JSON_POS + 1))
                _json_value "${path:+$path/}$key" || return 1
                _json_space
                case "${_json:_JSON_POS:1}" in
                    ,) _JSON_POS=$((_JSON_POS + 1)) ;;
                    '}') _JSON_POS=$((_JSON_POS + 1)); return 0 ;;
                    *) return 1 ;;
                esac
            done ;;
        '[')
            _JSON_POS=$((_JSON_POS + 1)); _json_space; index=0
            if [ "${_json:_JSON_POS:1}" = ']' ]; then _JSON_POS=$((_JSON_POS + 1)); return 0; fi
            while :; do
                _json_value "${path:+$path/}$index" || return 1
                index=$((index + 1)); _json_space
                case "${_json:_JSON_POS:1}" in
                    ,) _JSON_POS=$((_JSON_POS + 1)) ;;
                    ']') _JSON_POS=$((_JSON_POS + 1)); return 0 ;;
                    *) return 1 ;;
                esac
            done ;;
        '"')
            _json_string || return 1
            printf '%s\t%s\n' "$path" "$_JSON_STRING" ;;
        *)
            [[ "${_json:_JSON_POS}" =~ $_JSON_SCALAR_RE ]] || return 1
            _JSON_POS=$((_JSON_POS + ${#BASH_REMATCH[0]}))
            printf '%s\t%s\n' "$path" "${BASH_REMATCH[0]}" ;;
    esac
}

# json_get FLAT PATH: the value at PATH in json_flatten's output (empty when absent).
json_get() {
    local path value
    while IFS=$'\t' read -r path value; do
        [ "$path" = "$2" ] && { printf '%s\n' "$value"; return 0; }
    done <<< "$1"
    return 0
}
