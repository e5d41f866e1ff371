#!/usr/bin/env bash
# A connector whose directory lives in etcd ([directory]): it starts from etcd, applies a change
# pushed there as a reload applies a changed file, refuses one that does not check (keeping its
# last good directory and saying why under its status key, and in `waygate doctor`), goes on when
# the whole cluster is gone, starts again from the copy it keeps in state_dir while etcd is away,
# and catches up when etcd is back. Three etcd members in a namespace of the run's own; the
# connector (a stats stage, which lists the directory's identities) in the same namespace.
source "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }

etcd_cluster
directory() { ip netns exec "$E" "$WAYGATE" directory "$@" --etcd "$ETCD"; }

# The directory, pushed once: alice and bob.
top=$(cd "$(dirname "$0")/../.." && pwd)
sed -n '/^\[overlay\]/,/^# ---- The pipeline/p' "$top/configs/exit-node.toml" >"$WORK/directory.toml"
directory push -c "$WORK/directory.toml" >/dev/null || fail "push"

ADMIN=127.0.0.1:9190
etcd_connector "$ADMIN" "$WORK/state" connector-1 >"$WORK/connector.toml"
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$E"
identities() { ip netns exec "$E" curl -fsS -m 2 "http://$ADMIN/v1/stats" | python3 -c 'import json, sys; print(" ".join(i["name"] for i in json.load(sys.stdin)["identities"]))'; }
has() { [[ " $(identities) " == *" $1 "* ]]; }
lacks() { [[ " $(identities) " != *" $1 "* ]]; }
wait_for 5 has bob || fail "the connector did not start from etcd's directory: $(identities)"
pass "the connector runs etcd's directory: $(identities)"

# A change pushed once reaches it, applied as a reload.
cat "$WORK/directory.toml" - >"$WORK/more.toml" <<'TOML'
[[identity]]
name = "carol"
public_key = "Yb8Ri0vLMdTL7u9XSj3hS0M8zMHnGSKsCufJIcF2I2c="
TOML
started=$(date +%s%N)
directory push -c "$WORK/more.toml" >/dev/null || fail "push carol"
wait_for 5 has carol || fail "carol did not reach the connector"
pass "a pushed change is applied in $((($(date +%s%N) - started) / 1000000)) ms (measured by polling every 100 ms)"
# A member gone without a word (every packet to and from its client port dropped, as when its host
# is lost): the watch on it finds out (TCP keepalive) and moves to another member; a compaction
# meanwhile has it read everything again.
ip netns exec "$E" nft -f - <<'NFT'
table inet cut {
  chain output {
    type filter hook output priority 0; policy accept;
    tcp dport 2371 drop
    tcp sport 2371 drop
  }
}
NFT
cat "$WORK/more.toml" - >"$WORK/erin.toml" <<'TOML'
[[identity]]
name = "erin"
public_key = "fLzLDEyq35/NtR7kV6gozHKkWHmDG1uXiuLizvxElwU="
TOML
started=$(date +%s)
directory push -c "$WORK/erin.toml" >/dev/null || fail "push erin"
# ...and etcd compacts its history past the revision the watch had: it must read everything again.
etcdctl_ put /elsewhere/key value >/dev/null  # a revision past the push's, so the push's is compacted too
revision=$(etcdctl_ get /elsewhere/key -w json | python3 -c 'import json, sys; print(json.load(sys.stdin)["header"]["revision"])')
etcdctl_ compact "$revision" >/dev/null || fail "compact"
wait_for 45 has erin || fail "a change did not arrive with the watched member silently gone: $(identities)"
ip netns exec "$E" nft delete table inet cut
grep -q "is compacted: reading everything again" "$WORK/connector.log" || fail "the compacted revision was not read whole"
pass "the watched member gone without a word and etcd's history compacted meanwhile: the watch moved to another member, read everything again, and the change arrived $(($(date +%s) - started)) s later"
directory push -c "$WORK/more.toml" >/dev/null || fail "push without erin"
wait_for 10 lacks erin || fail "erin stayed"

status() { etcdctl_ get /waygate/status/connector-1 --print-value-only; }
# (a function, not grep on <(status): wait_for retries the command, and a pipe read once stays empty)
status_says() { [[ $(status) == *"$1"* ]]; }
wait_for 5 status_says '"revision"' || fail "no status key"
[[ $(status) != *error* ]] || fail "status after a good change: $(status)"

# A value that does not check (written past `waygate directory`, which would refuse it): refused,
# the last good directory stays, the status key and the doctor say why.
etcdctl_ put /waygate/directory/identity/dave 'name = "dave"
public_key = "not a key"' >/dev/null
wait_for 5 status_says dave || fail "the refusal is not in the status key: $(status)"
[[ $(status) == *'"error"'*"public_key"* ]] || fail "the status key: $(status)"
has carol || fail "the connector lost its last good directory"
doctor=$(ip netns exec "$E" "$WAYGATE" doctor -c "$WORK/connector.toml" --wait 0.1 2>&1) && fail "doctor passed with a refused directory"
[[ $doctor == *"FAIL directory in etcd: does not check: "*"identity 'dave': key 'public_key'"*"(the connector runs revision"* ]] ||
  fail "doctor: $doctor"
pass "a change that does not check is refused: the connector keeps carol, and says why ($(grep -o 'key .public_key.[^"]*' <<<"$(status)" | head -1))"
etcdctl_ del /waygate/directory/identity/dave >/dev/null
clean_status() { [[ $(status) != *error* ]]; }
wait_for 5 clean_status || fail "the status still reports an error after the bad key went: $(status)"

# The portal's new exit node, on a connector whose directory is in etcd: written there (checked
# whole first), and taken in through the watch.
new_socket() { ip netns exec "$E" curl -sS -m 5 -o "$WORK/created.json" -w '%{http_code}' -H 'Content-Type: application/json' -X POST "http://$ADMIN/v1/sockets" -d "$1"; }
code=$(new_socket '{"name": "home-exit", "description": "From the portal", "connector": "connector-1", "allow": ["not a prefix"]}')
[[ $code == 400 && $(cat "$WORK/created.json") == *"not a prefix"* ]] || fail "a bad socket: $code $(cat "$WORK/created.json")"
[[ -z $(etcdctl_ get /waygate/directory/socket/home-exit) ]] || fail "a refused socket was written to etcd"
code=$(new_socket '{"name": "home-exit", "description": "From the portal", "connector": "connector-1"}')
[[ $code == 201 ]] || fail "the new socket: $code $(cat "$WORK/created.json")"
etcdctl_ get /waygate/directory/socket/home-exit --print-value-only | grep -q 'From the portal' || fail "the socket is not in etcd"
sockets() { ip netns exec "$E" curl -fsS -m 2 "http://$ADMIN/v1/stats" | python3 -c 'import json, sys; print(" ".join(s["name"] for s in json.load(sys.stdin)["sockets"]))'; }
has_socket() { [[ " $(sockets) " == *" home-exit "* ]]; }
wait_for 5 has_socket || fail "the connector did not take the portal's socket in: $(sockets)"
grep -q '^\[\[socket\]\]' "$WORK/connector.toml" && fail "the socket was written to the connector's file"
pass "the portal's new exit node goes to etcd (a bad one refused, nothing written) and the connector takes it in: $(sockets)"

# The whole cluster gone: forwarding goes on with the directory in use; a restart starts from the copy.
for m in 1 2 3; do eval "kill \$ETCD_PID_$m; wait \$ETCD_PID_$m" 2>/dev/null || true; done
sleep 1
has carol || fail "the connector lost its directory with etcd gone"
stop_waygate
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$E"
wait_for 5 has carol || fail "restarted during the outage, the connector did not start from its copy: $(identities)"
grep -q "the directory kept in" "$WORK/connector.log" || fail "the start from the copy is not logged"
pass "etcd gone: the connector goes on, and a restart starts from the copy it kept (carol there)"

# etcd back, with a change made meanwhile... by restoring the members and pushing bob's removal.
for m in 1 2 3; do etcd_member "$m"; done
wait_for 20 etcdctl_ endpoint health || fail "the etcd cluster did not come back"
sed '/^\[\[identity\]\]$/{N;/name = "bob"/{N;N;N;d}}' "$WORK/more.toml" >"$WORK/less.toml"
directory push -c "$WORK/less.toml" >/dev/null || fail "push without bob"
wait_for 40 lacks bob || fail "the connector did not catch up when etcd came back: $(identities)"
has carol || fail "carol went with bob"
pass "etcd back: the connector catches up (bob gone, carol kept)"
stop_waygate
