#!/usr/bin/env bash
# Policy with two real WireGuard clients (wireguard-go), alice permitted on the exit node and bob
# not, against a connector assembled as an exit node runs: wireguard (peers from the identities)
# -> tun tap holding the connector's overlay address (the clients' API) -> policy -> nat -> egress.
#   alice (C)  10.51.0.2 --+
#                          +-- connector (S) 10.52.0.1, fd52::1 --- outside host (O)
#   bob   (D)  10.53.0.2 --+
# alice gets routing information and reaches the outside host as the egress address; bob gets an
# empty answer, and even with hand-made routes reaches nothing beyond the connector: his packets
# are counted drops. The audit log and the access graph say why. A SIGHUP that takes alice's
# permission away cuts her off at once.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }

three_hosts 5
D=$(new_ns d)
ip link add "vd$RUN_ID" netns "$D" type veth peer name "ve$RUN_ID" netns "$S"
ip -n "$D" addr add 10.53.0.2/24 dev "vd$RUN_ID"
ip -n "$S" addr add 10.53.0.1/24 dev "ve$RUN_ID"
ip -n "$D" link set "vd$RUN_ID" up
ip -n "$S" link set "ve$RUN_ID" up

wg_key server
wg_key alice
wg_key bob
write_config() {  # WHO [ALICE'S GROUPS]: whom the staff-exit policy names (its `identities` unless given as a key)
  local alice_groups=${2-'"staff"'}
  cat >"$WORK/connector.toml" <<TOML
[host]
admin = "127.0.0.1:9190"
api = ["10.50.0.1:80", "[fd50::1]:80"]
state_dir = "$WORK/state"

[overlay]
pool4 = "10.50.0.0/24"
pool6 = "fd50::/64"

[[identity]]
name = "alice"
email = "alice@example.com"
public_key = "$(cat "$WORK/alice.pub")"
groups = [$alice_groups]

[[identity]]
name = "bob"
email = "bob@partner.org"
public_key = "$(cat "$WORK/bob.pub")"

[[socket]]
name = "corporate-exit"
type = "exit_node"
description = "Exit node for all corporate traffic"
connector = "connector-1"
egress = ["10.52.0.1", "fd52::1"]
egress_ports = "40000-40999"
allow = ["10.52.0.0/24", "fd52::/64"]  # the outside host's private network: not the internet

[[policy]]
name = "staff-exit"
sockets = ["corporate-exit"]
permissions = ["network"]
$([[ $1 == *=* ]] && echo "$1" || echo "identities = [$1]")

[[stage]]
name = "tunnel"
plugin = "wireguard"
listen_port = 51820
private_key_file = "$WORK/server.key"
identities = true

[[stage]]
name = "local"
plugin = "tun"
device = "wa$RUN_ID"
address = ["10.50.0.1/24", "fd50::1/64"]
take = ["10.50.0.1/32", "fd50::1/128"]

[[stage]]
name = "policy"
plugin = "policy"
audit_log = "$WORK/audit.log"

[[stage]]
name = "stats"
plugin = "stats"
history = "$WORK/state/stats.json"

# nat and egress take the egress addresses from the socket.
[[stage]]
name = "nat"
plugin = "nat"
block_size = 64
max_sessions = 10000
log = "$WORK/nat.log"

[[stage]]
name = "egress"
plugin = "egress"
interface = "vt$RUN_ID"
TOML
}
write_config '"alice"'
# The whole connector runs inside its namespace: its tunnel API listens on the overlay address there.
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"

# Pool addresses in file order: the connector has .1, alice .2, bob .3. bob's exit-node routes are
# installed by hand: the connector never offers them to him.
exit_peer "$C" alice 10.51.0.1 10.50.0.2 fd50::2
exit_peer "$D" bob 10.53.0.1 10.50.0.3 fd50::3
[[ $(cat "$WORK/state/overlay-addresses") == *"10.50.0.2"* ]] || fail "pool assignments not recorded"

api() {  # NS PATH: the clients' API through the tunnel
  ip netns exec "$1" curl -sS --noproxy '*' -m 5 "http://10.50.0.1$2"
}
alice_routes=$(api "$C" /v1/routes) || fail "alice cannot reach the clients' API"
python3 - "$alice_routes" <<'PY' || fail "alice's routing information: $alice_routes"
import json, sys
r = json.loads(sys.argv[1])
assert r["identity"] == "alice", r
assert [e["name"] for e in r["exit_nodes"]] == ["corporate-exit"], r
assert r["exit_nodes"][0]["description"] == "Exit node for all corporate traffic", r
assert [x["prefix"] for x in r["routes"]] == ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"], r
PY
pass "alice is offered corporate-exit and its four default-route halves"
bob_routes=$(api "$D" /v1/routes) || fail "bob cannot reach the clients' API"
python3 - "$bob_routes" <<'PY' || fail "bob's routing information: $bob_routes"
import json, sys
r = json.loads(sys.argv[1])
assert r["identity"] == "bob" and r["exit_nodes"] == [] and r["routes"] == [] and r["exit_node"] is None, r
PY
pass "bob gets no exit node and no routes"
ip netns exec "$S" curl -sS -m 5 "http://127.0.0.1:9190/v1/access-graph" >"$WORK/graph.json" || fail "no access graph on the admin API"
[[ $(cat "$WORK/graph.json") == *'"identity":"alice","policy":"staff-exit","socket":"corporate-exit"'* ]] ||
  fail "admin access graph: $(cat "$WORK/graph.json")"

# alice's traffic leaves as the egress address; bob's goes nowhere beyond the connector.
(cd "$WORK" && exec ip netns exec "$O" python3 -m http.server 8080 --bind 10.52.0.2 >"$WORK/http.log" 2>&1) &
PIDS+=($!)
wait_for 5 listening "$O" 8080
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.52.0.2 >/dev/null || fail "alice cannot ping the outside host"
ip netns exec "$C" ping -6 -c 2 -i 0.2 -W 3 fd52::2 >/dev/null || fail "alice cannot ping the outside host over IPv6"
ip netns exec "$C" curl -sS --noproxy '*' -m 5 -f -o /dev/null http://10.52.0.2:8080/ || fail "alice cannot fetch from the outside host"
seen=$(awk '/ - - / {print $1}' "$WORK/http.log" | sort -u)
[[ $seen == 10.52.0.1 ]] || fail "the outside host saw '$seen'"
pass "alice reaches the outside host, which sees only the egress address"

# Stats move by exactly the traffic sent: three pings of 128-byte IP packets each way.
alice_bytes() {
  ip netns exec "$S" curl -sS -m 5 http://127.0.0.1:9190/v1/stats | python3 -c '
import json, sys
for i in json.load(sys.stdin)["identities"]:
    if i["name"] == "alice":
        print(i["bytes"]["outbound"], i["bytes"]["inbound"], i["packets"]["outbound"], i["socket"])'
}
read -r out0 in0 pkts0 _ <<<"$(alice_bytes)"
ip netns exec "$C" ping -c 3 -i 0.2 -s 100 -W 3 10.52.0.2 >/dev/null || fail "ping for the stats"
read -r out1 in1 pkts1 socket <<<"$(alice_bytes)"
((out1 - out0 == 384 && in1 - in0 == 384 && pkts1 - pkts0 == 3)) ||
  fail "alice's stats moved by $((out1 - out0)) bytes out, $((in1 - in0)) in, $((pkts1 - pkts0)) packets (expected 384, 384, 3)"
[[ $socket == corporate-exit ]] || fail "alice's socket in the stats: $socket"
table=$(ip netns exec "$S" "$WAYGATE" stats -a 127.0.0.1:9190) || fail "waygate stats: $table"
[[ $table == *"corporate-exit"*"alice"*"corporate-exit"* ]] || fail "waygate stats: $table"
pass "stats moved by exactly 384 bytes each way; waygate stats shows alice on corporate-exit"

# The NAT log answers "who had this public address and port at that time?": the outside host's
# echo says the address and port a datagram came from, nat-lookup names alice.
udp_echo "$O" 10.52.0.2 9053
seen=$(udp_whoami "$C" 10.52.0.2 9053) || fail "UDP through the exit"
seen=${seen/ /:}
wait_for 5 grep -q "\"outside\":\"$seen\"" "$WORK/nat.log" || fail "no NAT log line for $seen: $(cat "$WORK/nat.log")"
lookup=$("$WAYGATE" nat-lookup "$seen" --protocol udp --at "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" -c "$WORK/connector.toml") ||
  fail "nat-lookup $seen: $lookup"
[[ $lookup == *'udp "10.50.0.2:'*'-> "10.52.0.2:9053" as '"$seen"': identity "alice", socket "corporate-exit"'* ]] ||
  fail "nat-lookup $seen: $lookup"
pass "nat-lookup $seen: $lookup"

metric() {  # the drops of the policy stage under REASON
  ip netns exec "$S" curl -sS -m 5 http://127.0.0.1:9190/metrics |
    awk -v r="reason=\"$1\"" '/^waygate_drops_total/ && /stage="policy"/ && index($0, r) {print $2}'
}
ip netns exec "$D" ping -c 3 -i 0.2 -W 1 10.52.0.2 >/dev/null && fail "bob reached the outside host"
ip netns exec "$D" ping -6 -c 2 -i 0.2 -W 1 fd52::2 >/dev/null && fail "bob reached the outside host over IPv6"
ip netns exec "$D" curl -sS --noproxy '*' -m 2 -o /dev/null http://10.52.0.2:8080/ 2>/dev/null && fail "bob fetched from the outside host"
drops=$(metric no_exit_node)
((${drops:-0} >= 5)) || fail "bob's packets are not counted as no_exit_node drops (${drops:-none})"
ip netns exec "$D" ping -c 1 -W 2 10.50.0.1 >/dev/null || fail "bob cannot reach the connector itself"
pass "bob reaches the connector and nothing beyond it: $drops packets dropped as no_exit_node"

# Audit: one line per decision that changed.
wait_for 5 grep -q '"identity":"bob"' "$WORK/audit.log" || fail "no audit line for bob: $(cat "$WORK/audit.log")"
grep -q '"event":"granted","identity":"alice","endpoint":"10.51.0.2:[0-9]*","socket":"corporate-exit","reason":"granted by staff-exit"' "$WORK/audit.log" ||
  fail "alice's grant is not audited: $(cat "$WORK/audit.log")"
grep -q '"event":"denied","identity":"bob","endpoint":"10.53.0.2:[0-9]*","socket":"corporate-exit"' "$WORK/audit.log" ||
  fail "bob's denial is not audited: $(cat "$WORK/audit.log")"
pass "the audit log names who, from where, on which socket, allowed by what"

graph=$("$WAYGATE" access-graph -c "$WORK/connector.toml")
[[ $graph == *"alice <- staff-exit"* && $graph != *"bob <-"* ]] || fail "access graph: $graph"
set +e
why=$("$WAYGATE" access-graph -c "$WORK/connector.toml" --identity bob --socket corporate-exit)
status=$?
set -e
[[ $status == 3 && $why == "bob -> corporate-exit: denied: staff-exit: who: 'bob' is not identity alice" ]] ||
  fail "why not (status $status): $why"
pass "access-graph: $why"

# Revocation: the policy now names bob only. alice is cut off at once, her routes withdrawn.
write_config '"bob"'
kill -HUP "$WAYGATE_PID"
wait_for 10 grep -q "reload: applied" "$WORK/connector.log" || fail "reload not applied"
ip netns exec "$C" ping -c 3 -i 0.2 -W 1 10.52.0.2 >/dev/null && fail "alice still reaches the outside host after revocation"
[[ $(api "$C" /v1/routes) == *'"exit_nodes":[]'* ]] || fail "alice is still offered routes: $(api "$C" /v1/routes)"
ip netns exec "$D" ping -c 2 -i 0.2 -W 3 10.52.0.2 >/dev/null || fail "bob cannot use the exit node once granted"
grep -q '"event":"denied","identity":"alice"' "$WORK/audit.log" || fail "alice's revocation is not audited"
pass "SIGHUP revokes alice at once and grants bob"

# The doctor, on the connector, while bob's traffic flows (granted by now): every check passes; with the egress
# table flushed away (as a firewall manager might), it says so and what to do.
ip netns exec "$D" ping -c 15 -i 0.2 -W 1 10.52.0.2 >/dev/null 2>&1 &
PIDS+=($!)
doctor=$(ip netns exec "$S" "$WAYGATE" doctor -c "$WORK/connector.toml" --wait 1) || fail "doctor: $doctor"
[[ $doctor == *"pass packets arriving"* && $doctor == *"all checks pass"* ]] || fail "doctor: $doctor"
ip netns exec "$S" nft delete table inet waygate_egress
set +e
doctor=$(ip netns exec "$S" "$WAYGATE" doctor -c "$WORK/connector.toml" --wait 0.2)
status=$?
set -e
[[ $status == 1 && $doctor == *"FAIL nftables table waygate_egress"*"-> the egress stage installs it at start"* ]] ||
  fail "doctor with the table gone (status $status): $doctor"
ip netns exec "$S" sysctl -qw net.ipv4.conf.all.rp_filter=1
set +e
doctor=$(ip netns exec "$S" "$WAYGATE" doctor -c "$WORK/connector.toml" --wait 0.2)
set -e
ip netns exec "$S" sysctl -qw net.ipv4.conf.all.rp_filter=0
[[ $doctor == *"FAIL TCP trains"*"rp_filter is 1"*"-> turn reverse-path filtering off"* ]] || fail "doctor with rp_filter on: $doctor"
pass "doctor: all checks pass, a missing nftables table fails with what to do, and so does rp_filter keeping TCP off its trains"
# Revocation by group: the policy names the group staff; taking alice, its last member, out of it
# is a reload like any other (a warning, not a refused file), and she is cut off.
write_config 'groups = ["staff"]'
kill -HUP "$WAYGATE_PID"
wait_for 10 bash -c "[[ \$(grep -c 'reload: applied' '$WORK/connector.log') -ge 2 ]]" || fail "reload to the group not applied"
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.52.0.2 >/dev/null || fail "alice is not let in by her group"
write_config 'groups = ["staff"]' ''
kill -HUP "$WAYGATE_PID"
wait_for 10 bash -c "[[ \$(grep -c 'reload: applied' '$WORK/connector.log') -ge 3 ]]" ||
  fail "emptying the group was not applied: $(grep -i 'reload' "$WORK/connector.log" | tail -2)"
grep -q "warn.*key 'groups': no identity is in a group 'staff'" "$WORK/connector.log" || fail "no warning logged for the empty group"
ip netns exec "$C" ping -c 3 -i 0.2 -W 1 10.52.0.2 >/dev/null && fail "alice still reaches the outside host out of the group"
check=$("$WAYGATE" check -c "$WORK/connector.toml" 2>&1) || fail "check refuses the empty group: $check"
[[ $check == *"warning: $WORK/connector.toml:"*"policy 'staff-exit': key 'groups': no identity is in a group 'staff'"* ]] ||
  fail "check does not warn: $check"
graph=$("$WAYGATE" access-graph -c "$WORK/connector.toml")
[[ $graph == *"warning: "*"no identity is in a group 'staff'"* ]] || fail "access graph does not warn: $graph"
set +e
doctor=$(ip netns exec "$S" "$WAYGATE" doctor -c "$WORK/connector.toml" --wait 0.2)
set -e
[[ $doctor == *"warn directory: "*"no identity is in a group 'staff'"* ]] || fail "doctor does not warn: $doctor"
pass "emptying the group revokes alice: the reload applies, and the log, check, access graph and doctor warn"
stop_waygate
[[ -s $WORK/state/stats.json && $(cat "$WORK/state/stats.json") == *'"corporate-exit":['* ]] ||
  fail "no traffic history saved on stop"
pass "a clean stop saves the traffic history"
