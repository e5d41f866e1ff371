#!/usr/bin/env bash
# An exit node served by two connectors under one directory in etcd, with two clients: alice on
# Waygate's client (both connectors as tunnel peers) and bob on wireguard-go (connector-2 only).
# The clients' API lists both connectors alive, `waygate client use` puts the quicker in service;
# a policy change pushed once reaches both; a broken change is refused by both and nothing stops;
# an etcd member killed changes nothing; all of etcd killed changes nothing for traffic, a
# connector restarted meanwhile starts from its copy, and both catch up when etcd is back. Then the
# connector in use killed with SIGKILL while alice pings every 100 ms: the tunnel moves to the other
# by itself (routes, resolver and bypasses untouched) and the answers come back, now translated to
# the other connector's egress address. The lost answers are counted and printed.
# ctest-timeout: 240
#
#   C (client) --10.71/24-- S1 (connector-1) --10.72/24-- O (outside, 10.79.0.1)
#              \-10.73/24-- S2 (connector-2) --10.74/24--/
#   S1 --10.75/24-- E (etcd, three members) --10.76/24-- S2 --10.77/24-- D (bob, wireguard-go)
source "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }

etcd_cluster
C=$(new_ns c)
O=$(new_ns o)
S1=$(new_ns s1)
S2=$(new_ns s2)
D=$(new_ns d)
# link NS_A DEV_A ADDR_A NS_B DEV_B ADDR_B (addresses /24)
link() {
  ip link add "$2$RUN_ID" netns "$1" type veth peer name "$5$RUN_ID" netns "$4"
  ip -n "$1" addr add "$3/24" dev "$2$RUN_ID"
  ip -n "$4" addr add "$6/24" dev "$5$RUN_ID"
  ip -n "$1" link set "$2$RUN_ID" up
  ip -n "$4" link set "$5$RUN_ID" up
}
link "$C" ca 10.71.0.2 "$S1" sa 10.71.0.1
link "$C" cb 10.73.0.2 "$S2" sb 10.73.0.1
link "$S1" ta 10.72.0.1 "$O" oa 10.72.0.2
link "$S2" tb 10.74.0.1 "$O" ob 10.74.0.2
link "$S1" ea 10.75.0.2 "$E" fa 10.75.0.1
link "$S2" eb 10.76.0.2 "$E" fb 10.76.0.1
link "$D" da 10.77.0.2 "$S2" db 10.77.0.1
ip -n "$O" addr add 10.79.0.1/32 dev lo
ip -n "$S1" route add 10.79.0.0/24 via 10.72.0.2
ip -n "$S2" route add 10.79.0.0/24 via 10.74.0.2

(umask 077
 for k in alice bob c1 c2; do "$WAYGATE" genkey >"$WORK/$k.key"; "$WAYGATE" pubkey <"$WORK/$k.key" >"$WORK/$k.pub"; done)

# The directory, in etcd once: alice, the exit node on both connectors, a policy for staff.
directory_file() {
  cat <<TOML
[overlay]
pool4 = "10.70.0.0/24"
[[identity]]
name = "alice"
public_key = "$(cat "$WORK/alice.pub")"
groups = [$1]
[[identity]]
name = "bob"
public_key = "$(cat "$WORK/bob.pub")"
groups = ["staff"]
[[socket]]
name = "exit"
type = "exit_node"
connectors = ["connector-1", "connector-2"]
allow = ["10.79.0.0/24"]   # the outside host's private network: not the internet
[[policy]]
name = "staff-exit"
sockets = ["exit"]
permissions = ["network"]
groups = ["staff"]
TOML
}
directory_file '"staff"' >"$WORK/directory.toml"
ip netns exec "$E" "$WAYGATE" directory push -c "$WORK/directory.toml" --etcd "$ETCD" >/dev/null || fail "push"

# connector N ETCD_ADDRESS CLIENT_SIDE EGRESS OUTSIDE_DEV ADMIN: its own egress address (nat and
# egress stage tables), everything else from etcd; its admin API on the etcd side, with a token.
connector() {
  cat <<TOML
[host]
admin = "$6:9190"
admin_token_file = "$WORK/token"
state_dir = "$WORK/state$1"
api = ["10.70.0.1:80"]
[directory]
etcd = ["http://$2:2371", "http://$2:2372", "http://$2:2373"]
connector = "connector-$1"
[[stage]]
name = "tunnel"
plugin = "wireguard"
listen_port = 51820
private_key_file = "$WORK/c$1.key"
public_endpoint = "$3:51820"
identities = true
[[stage]]
name = "api"
plugin = "tun"
device = "wa$1$RUN_ID"
address = ["10.70.0.1/24"]
take = ["10.70.0.1/32"]
[[stage]]
name = "policy"
plugin = "policy"
[[stage]]
name = "stats"
plugin = "stats"
[[stage]]
name = "nat"
plugin = "nat"
block_size = 64
[[stage.socket]]
id = 0
egress4 = "$4"
[[stage]]
name = "egress"
plugin = "egress"
interface = "$5$RUN_ID"
egress4 = ["$4"]
TOML
}
(umask 077; head -c 24 /dev/urandom | base64 >"$WORK/token")
connector 1 10.75.0.1 10.71.0.1 10.72.0.1 ta 10.75.0.2 >"$WORK/c1.toml"
connector 2 10.76.0.1 10.73.0.1 10.74.0.1 tb 10.76.0.2 >"$WORK/c2.toml"
start_waygate "$WORK/c1.toml" "$WORK/c1.log" "$S1"
C1_PID=$WAYGATE_PID
start_waygate "$WORK/c2.toml" "$WORK/c2.log" "$S2"
C2_PID=$WAYGATE_PID

# Waygate's client: both connectors peers of its tunnel, taking turns.
cat >"$WORK/alice.toml" <<TOML
[host]
admin = "127.0.0.1:9191"
[[stage]]
name = "device"
plugin = "tun"
device = "cd$RUN_ID"
address = ["10.70.0.2/24"]
[[stage]]
name = "exit"
plugin = "client"
device = "cd$RUN_ID"
state = "$WORK/selection.json"
resolv_conf = "$WORK/resolv.conf"
[[stage.connector]]
name = "connector-1"
api = "10.70.0.1"
[[stage.connector]]
name = "connector-2"
api = "10.70.0.1"
[[stage]]
name = "tunnel"
plugin = "wireguard"
private_key_file = "$WORK/alice.key"
failover_after = "1s"
[[stage.peer]]
name = "connector-1"
public_key = "$(cat "$WORK/c1.pub")"
endpoint = "10.71.0.1:51820"
allowed_ips = ["0.0.0.0/0"]
persistent_keepalive = "1s"
[[stage.peer]]
name = "connector-2"
public_key = "$(cat "$WORK/c2.pub")"
endpoint = "10.73.0.1:51820"
allowed_ips = ["0.0.0.0/0"]
persistent_keepalive = "1s"
TOML
echo "nameserver 192.0.2.53" >"$WORK/resolv.conf"
start_waygate "$WORK/alice.toml" "$WORK/alice.log" "$C"
client() { ip netns exec "$C" "$WAYGATE" client "$@" -c "$WORK/alice.toml"; }

both_listed() { [[ $(client exit-nodes) == *exit* ]] && grep -q '"public_key"' <<<"$(ip netns exec "$C" curl -fsS -m 2 http://10.70.0.1/v1/routes)" &&
  [[ $(ip netns exec "$C" curl -fsS -m 2 http://10.70.0.1/v1/routes | grep -o '"name":"connector-[12]"' | sort -u | wc -l) -eq 2 ]]; }
wait_for 20 both_listed || fail "the clients' API does not list both connectors: $(ip netns exec "$C" curl -sS -m 2 http://10.70.0.1/v1/routes)"
pass "the clients' API lists the exit node's two live connectors, with their endpoints and keys"

out=$(client use exit) || fail "use: $out"
[[ $out == *"using exit node exit on connector-"*"1 other connector(s) alive"* ]] || fail "use: $out"
in_use=$(sed -n 's/^using exit node exit on \(connector-[12]\).*/\1/p' <<<"$out")
other=$([[ $in_use == connector-1 ]] && echo connector-2 || echo connector-1)
pass "use: $(head -1 <<<"$out")"
status=$(client status)
[[ $status == *"tunnel to $other"*"standing by"* ]] || fail "status does not show $other standing by: $status"
ip netns exec "$C" ping -c 2 -i 0.2 -W 2 10.79.0.1 >/dev/null || fail "no ping through $in_use"

# A policy change pushed once reaches both: alice out of staff, no answers; back in, answers.
directory_file '"contractors"' >"$WORK/revoked.toml"
ip netns exec "$E" "$WAYGATE" directory push -c "$WORK/revoked.toml" --etcd "$ETCD" >/dev/null || fail "push revoked"
revoked() { ! ip netns exec "$C" ping -c 1 -W 1 10.79.0.1 >/dev/null; }
wait_for 10 revoked || fail "the revocation did not cut alice's traffic"
ip netns exec "$E" "$WAYGATE" directory push -c "$WORK/directory.toml" --etcd "$ETCD" >/dev/null || fail "push back"
granted() { ip netns exec "$C" ping -c 1 -W 1 10.79.0.1 >/dev/null; }
wait_for 10 granted || fail "alice's access did not come back"
# Both took both changes in (the one alice's traffic goes through audited her loss) and neither
# refused anything.
in_use_log=$WORK/c${in_use#connector-}.log
grep -q '"event":"denied","identity":"alice"' "$in_use_log" || fail "$in_use did not re-evaluate alice"
for f in c1 c2; do [[ $(grep -c "reload: applied" "$WORK/$f.log") -ge 3 ]] || fail "$f did not apply both pushes"; done
listing=$(ip netns exec "$E" "$WAYGATE" connectors --etcd "$ETCD")
[[ $(grep -c ' ok, up since' <<<"$listing") -eq 2 ]] || fail "waygate connectors: $listing"
pass "a policy change pushed once cuts alice off and lets her back through the exit node; both connectors applied both, and waygate connectors lists both ok"

grep -q "silent" "$WORK/alice.log" && fail "the tunnel moved while $in_use was alive (its policy dropped her pings): $(grep silent "$WORK/alice.log")"
pass "while $in_use dropped her pings (denied), the tunnel stayed with it: it answered the handshakes the silence prompted"

# Every connector's traffic, found through etcd: each, then together.
# (each connector reads the list again at each renewal of its lease, every 3 s)
stats_all() { ip netns exec "$E" "$WAYGATE" stats --all -a 10.75.0.2:9190 --token-file "$WORK/token"; }
shows_both() {
  local all
  all=$(stats_all) &&
    [[ $all == *"== connector-1 (admin 10.75.0.2:9190)"$'\n'* && $all == *"== connector-2 (admin 10.76.0.2:9190)"$'\n'* &&
       $all == *"== all 2 connector(s) answering, together"* ]]
}
wait_for 10 shows_both || fail "stats --all: $(stats_all)"
pass "stats --all shows both connectors' traffic, found through etcd, and their sum"

# bob, on wireguard-go, through connector-2 only (at 10.70.0.3: the pool's next after alice's).
wireguard_go "$D" "gb$RUN_ID"
ip netns exec "$D" wg set "gb$RUN_ID" private-key "$WORK/bob.key" peer "$(cat "$WORK/c2.pub")" \
  endpoint 10.77.0.1:51820 allowed-ips 0.0.0.0/0 persistent-keepalive 1
ip -n "$D" addr add 10.70.0.3/32 dev "gb$RUN_ID"
ip -n "$D" link set "gb$RUN_ID" up mtu 1420
for prefix in 0.0.0.0/1 128.0.0.0/1; do ip -n "$D" route add "$prefix" dev "gb$RUN_ID"; done
both_ping() { ip netns exec "$C" ping -c 1 -W 2 10.79.0.1 >/dev/null && ip netns exec "$D" ping -c 1 -W 2 10.79.0.1 >/dev/null; }
wait_for 10 both_ping || fail "bob (wireguard-go) gets no answer through connector-2"
pass "bob, on wireguard-go, reaches the outside through connector-2 while alice goes through $in_use"

# A change that does not check, written past `waygate directory`: refused by both, nothing stops.
etcdctl_ put /waygate/directory/identity/dave 'name = "dave"
public_key = "not a key"' >/dev/null
refused_by_both() { [[ $(ip netns exec "$E" "$WAYGATE" connectors --etcd "$ETCD" | grep -c "refused a change: .*public_key") -eq 2 ]]; }
wait_for 10 refused_by_both || fail "not refused by both: $(ip netns exec "$E" "$WAYGATE" connectors --etcd "$ETCD")"
both_ping || fail "traffic stopped with a refused change"
etcdctl_ del /waygate/directory/identity/dave >/dev/null
pass "a broken change is refused by both connectors (each says why under its status key) and both clients' traffic goes on"

# An etcd member killed: a change still reaches both.
kill "$ETCD_PID_1"
wait "$ETCD_PID_1" 2>/dev/null || true
directory_file '"staff"' >"$WORK/carol.toml"
printf '[[identity]]\nname = "carol"\npublic_key = "Yb8Ri0vLMdTL7u9XSj3hS0M8zMHnGSKsCufJIcF2I2c="\n' >>"$WORK/carol.toml"
ip netns exec "$E" "$WAYGATE" directory push -c "$WORK/carol.toml" --etcd "$ETCD" >/dev/null || fail "push with a member down"
holds_carol() { [[ $(ip netns exec "$1" curl -fsS -m 2 -H "Authorization: Bearer $(cat "$WORK/token")" "http://$2:9190/v1/stats") == *'"name":"carol"'* ]]; }
wait_for 10 holds_carol "$S1" 10.75.0.2 && wait_for 10 holds_carol "$S2" 10.76.0.2 || fail "carol did not reach both with a member down"
pass "an etcd member killed: a change still reaches both connectors"

# All of etcd killed: traffic goes on; connector-2 restarted meanwhile starts from its copy (bob's
# wireguard-go handshakes again once its data goes unanswered: 15 s by its own timers).
for m in 2 3; do eval "kill \$ETCD_PID_$m; wait \$ETCD_PID_$m" 2>/dev/null || true; done
sleep 1
both_ping || fail "traffic stopped with etcd gone"
kill -TERM "$C2_PID"
wait "$C2_PID" || fail "connector-2 did not stop cleanly with etcd gone"
start_waygate "$WORK/c2.toml" "$WORK/c2-again.log" "$S2"
C2_PID=$WAYGATE_PID
grep -q "the directory kept in" "$WORK/c2-again.log" || fail "connector-2 did not start from its copy"
wait_for 30 both_ping || fail "bob's traffic did not come back through connector-2 restarted from its copy"
pass "all of etcd killed: both clients' traffic goes on, and connector-2 restarted meanwhile runs the copy it kept"

# etcd back: both catch up with a change made then.
for m in 1 2 3; do etcd_member "$m"; done
wait_for 20 etcdctl_ endpoint health || fail "etcd did not come back"
ip netns exec "$E" "$WAYGATE" directory push -c "$WORK/directory.toml" --etcd "$ETCD" >/dev/null || fail "push without carol"
lacks_carol() { ! holds_carol "$@"; }
wait_for 40 lacks_carol "$S1" 10.75.0.2 && wait_for 40 lacks_carol "$S2" 10.76.0.2 || fail "the connectors did not catch up"
both_ping || fail "traffic after etcd came back"
pass "etcd back: both connectors catch up (carol gone again)"

# The connector in use killed mid-ping.
(cd "$WORK" && exec ip netns exec "$O" python3 -m http.server 8080 --bind 10.79.0.1 >"$WORK/http.log" 2>&1) &
PIDS+=($!)
wait_for 5 listening "$O" 8080
ip netns exec "$C" ping -i 0.1 -c 150 -W 1 10.79.0.1 >"$WORK/ping.log" 2>&1 &
PING=$!
PIDS+=($PING)
sleep 3
victim=$([[ $in_use == connector-1 ]] && echo "$C1_PID" || echo "$C2_PID")
kill -KILL "$victim"
wait "$PING" || true
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/ping.log")
lost=$((150 - received))
((received >= 100)) || fail "only $received of 150 pings answered: $(tail -2 "$WORK/ping.log")"
ip netns exec "$C" curl -sS -f -m 5 -o /dev/null http://10.79.0.1:8080/ || fail "no page through $other"
egress=$([[ $other == connector-1 ]] && echo 10.72.0.1 || echo 10.74.0.1)
grep -q "^$egress - - " "$WORK/http.log" || fail "the outside host saw $(cut -d' ' -f1 "$WORK/http.log")"
status=$(client status)
[[ $status == *"tunnel to $in_use"*"standing by"* && $status == *"exit node: exit on $other (the tunnel moved it there from $in_use, which fell silent)"* ]] || fail "status after the failover: $status"
grep -q "route 0.0.0.0/1 dev cd$RUN_ID" <<<"$status" || fail "the exit node's routes are gone: $status"
pass "$in_use killed: the tunnel moved to $other by itself; $lost of 150 pings (100 ms apart) lost, i.e. back within $((lost * 100)) ms; the page now leaves from $egress; routes and selection unchanged"
echo "  ($(grep -c "" "$WORK/ping.log") lines of ping; the client's log: $(grep -o 'peer .* silent.*' "$WORK/alice.log" | head -1))"
