#!/usr/bin/env bash
# make-release-fixture.sh BINARY VERSION (e.g. .build/debug/pointmesh of a release checkout, 0.4; 0.5 and 0.6 run the same workload): runs a release's node on a fresh data directory, writes a workload of
# the kinds it has, records each account's answer, stops it cleanly and keeps ledger.sqlite.
set -euo pipefail
bin=$1; version=$2
dir=$(mktemp -d); out=${OUT:-.}/$version
mkdir -p "$out"
"$bin" serve --node-id "old-$version" --data "$dir/data" --http 127.0.0.1:0 --gossip 127.0.0.1:0 > "$dir/ready" 2> "$dir/log" &
pid=$!
for i in $(seq 50); do grep -q ready "$dir/ready" 2>/dev/null && break; sleep 0.1; done
http=$(grep -o 'http=[^ ]*' "$dir/ready" | cut -d= -f2)
P() { curl -s -H 'Content-Type: application/json' -X "$1" "$http$2" ${3:+-d "$3"}; echo; }
P POST /v1/purchases '{"receipt_id":"R1","account_id":"alice","amount_fen":12345}'
P POST /v1/purchases '{"receipt_id":"R2","account_id":"bob","amount_fen":5000}'
P POST /v1/purchases '{"receipt_id":"R3","account_id":"alice","amount_fen":8000}'
P POST /v1/redemptions '{"request_id":"Q1","account_id":"alice","points":150}'
P POST /v1/refunds '{"refund_id":"F1","receipt_id":"R1","amount_fen":12345}'
P POST /v1/redemptions '{"request_id":"Q2","account_id":"bob","points":20}'
P POST /v1/refunds '{"refund_id":"F2","receipt_id":"R2","amount_fen":1000}'
accounts="alice bob"
if [ "$version" != 0.3 ]; then
  P PUT /v1/policies/expiry "{\"version_id\":\"long\",\"rule\":\"days\",\"days\":800,\"effective_at\":\"$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)\"}"
  P POST /v1/compensations '{"batch_id":"B1","action":"extend_expiry","reason":"outage","reference":"INC-1","expiring_from":"2020-01-01T00:00:00Z","expiring_to":"2099-01-01T00:00:00Z","days":10}'
fi
if [ "$version" = 0.5 ] || [ "$version" = 0.6 ]; then
  P POST /v1/purchases '{"receipt_id":"R4","account_id":"carol","amount_fen":6000}'
  P PUT /v1/families/lee/members/carol
  P PUT /v1/families/lee/members/dan
  P POST /v1/transfers '{"request_id":"T1","from_account":"carol","to_account":"dan","points":10}'
  P POST /v1/transfers '{"request_id":"T2","from_account":"carol","to_account":"family:lee","points":20}'
  P POST /v1/accounts/dan/freeze '{"request_id":"H1","evidence_ref":"C-1","reason":"check","operator":"op"}'
  P POST /v1/deductions '{"request_id":"D1","account_id":"dan","points":3,"evidence_ref":"C-1","reason":"fake","operator":"op"}'
  P PUT /v1/categories/tea/green
  P PUT /v1/campaigns/double '{"name":"Double","starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","multiplier":2}'
  P POST /v1/purchases '{"receipt_id":"R5","account_id":"carol","amount_fen":3000,"items":[{"sku":"T1","category":"tea","amount_fen":3000}]}'
  P PUT /v1/rewards/cinema '{"name":"Cinema","points":20,"kind":"partner","partner":"Wanda"}'
  P POST /v1/redemptions '{"request_id":"Q3","account_id":"carol","reward_id":"cinema"}'
  accounts="$accounts carol dan family:lee"
fi
echo "{" > "$out/accounts.json"
first=1
for a in $accounts; do
  [ $first = 1 ] || echo "," >> "$out/accounts.json"; first=0
  printf '"%s": %s' "$a" "$(curl -s "$http/v1/accounts/$a")" >> "$out/accounts.json"
done
echo "}" >> "$out/accounts.json"
kill -TERM $pid; wait $pid || true
cp "$dir/data/ledger.sqlite" "$out/ledger.sqlite"
ls "$dir/data"
rm -rf "$dir"
