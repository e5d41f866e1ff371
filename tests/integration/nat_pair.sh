#!/usr/bin/env bash
# Two connectors of a pair ([stage.pair] of their nat stages), in two namespaces joined by a veth
# that carries the replication link: the standby catches up with the active by itself and
# `waygate doctor` on each says its side (active; standby level, heard from the active). The
# active stops: the standby says it no longer hears it. Made active through the admin API (what
# keepalived's notify script does), it says so; a datagram under another key is refused and
# counted. A reload that changes the pair is refused; one that keeps it is taken.
source "$(dirname "$0")/lib.sh"

A=$(new_ns a)
B=$(new_ns b)
ip link add "pa$RUN_ID" netns "$A" type veth peer name "pb$RUN_ID" netns "$B"
ip -n "$A" addr add 10.93.0.1/24 dev "pa$RUN_ID"
ip -n "$B" addr add 10.93.0.2/24 dev "pb$RUN_ID"
ip -n "$A" link set "pa$RUN_ID" up
ip -n "$B" link set "pb$RUN_ID" up
(umask 077 && "$WAYGATE" genpsk >"$WORK/pair.key" && "$WAYGATE" genpsk >"$WORK/other.key")

connector() {  # NAME LISTEN PEER ROLE [KEY]
  cat <<TOML
[host]
admin = "127.0.0.1:9190"
connector = "$1"
[[socket]]
name = "exit"
type = "exit_node"
egress = ["10.94.0.1"]
egress_ports = "20000-20999"
[[stage]]
name = "nat"
plugin = "nat"
block_size = 100
[stage.pair]
listen = "$2:5405"
peer = "$3:5405"
key_file = "${5:-$WORK/pair.key}"
role = "$4"
TOML
}
connector a 10.93.0.1 10.93.0.2 active >"$WORK/a.toml"
connector b 10.93.0.2 10.93.0.1 standby >"$WORK/b.toml"
start_waygate "$WORK/a.toml" "$WORK/a.log" "$A"
A_PID=$WAYGATE_PID
start_waygate "$WORK/b.toml" "$WORK/b.log" "$B"
B_PID=$WAYGATE_PID

doctor() { ip netns exec "$1" "$WAYGATE" doctor -c "$WORK/$2.toml" --wait 0.5 2>&1 | grep "pair:" || true; }
level() { [[ $(doctor "$B" b) == "pass pair: standby of a at 10.93.0.1:5405: 0 NAT session(s) held, level with the active, heard"* ]]; }
wait_for 10 level || fail "the standby did not catch up: $(doctor "$B" b); $(cat "$WORK/b.log")"
[[ $(doctor "$A" a) == "pass pair: active: 0 NAT session(s), replicated to 10.93.0.2:5405"* ]] || fail "doctor on the active: $(doctor "$A" a)"
pass "doctor: $(doctor "$A" a) / $(doctor "$B" b)"
grep -q "pair: level with a (" "$WORK/b.log" || fail "the standby's log: $(cat "$WORK/b.log")"

# A reload that changes the pair is refused, and one that keeps it is taken.
sed -i 's/^block_size = 100/block_size = 100\nudp = "3m"/' "$WORK/b.toml"
kill -HUP "$B_PID"
wait_for 10 grep -q "reload: applied" "$WORK/b.log" || fail "a reload keeping the pair: $(tail -3 "$WORK/b.log")"
sed -i "s|key_file = .*|key_file = \"$WORK/other.key\"|" "$WORK/b.toml"
kill -HUP "$B_PID"
wait_for 10 grep -q "changing \[stage.pair\] needs a restart" "$WORK/b.log" || fail "a reload changing the pair: $(tail -3 "$WORK/b.log")"
pass "a reload keeping the pair is taken; one changing its key is refused"

# Someone else's datagrams on the pair's port: refused, counted.
ip netns exec "$A" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.93.0.1", 5406))
for _ in range(3): s.sendto(b"x" * 120, ("10.93.0.2", 5405))'
refused() { [[ $(ip netns exec "$B" curl -sS http://127.0.0.1:9190/metrics | sed -n 's/^waygate_nat_pair_refused_total{[^}]*} //p') -ge 3 ]]; }
wait_for 5 refused || fail "datagrams from elsewhere were not refused: $(ip netns exec "$B" curl -sS http://127.0.0.1:9190/metrics | grep pair_)"
pass "datagrams from another port are refused and counted"

# The active goes: the standby says it hears nothing; made active, it says so.
kill -KILL "$A_PID"
silent() { [[ $(doctor "$B" b) == "FAIL pair: standby of a at 10.93.0.1:5405"*"heard "[3-9]* ]]; }
wait_for 10 silent || fail "the standby did not notice: $(doctor "$B" b)"
pass "the active killed: $(doctor "$B" b)"
code=$(ip netns exec "$B" curl -sS -o "$WORK/role.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  http://127.0.0.1:9190/v1/nat/pair -d '{"role": "active"}')
[[ $code == 200 && $(cat "$WORK/role.json") == *'"role":"active"'* ]] || fail "PUT role: $code $(cat "$WORK/role.json")"
[[ $(doctor "$B" b) == "pass pair: active:"* ]] || fail "doctor after the takeover: $(doctor "$B" b)"
grep -q "pair: active (0 sessions taken over), replicating to 10.93.0.1:5405" "$WORK/b.log" || fail "the takeover's log: $(tail -3 "$WORK/b.log")"
pass "made active as keepalived's notify would: $(doctor "$B" b)"
