#!/usr/bin/env bash
# ctest-timeout: 240
# Waygate's own client against an exit node: `waygate client` lists the exit nodes alice may use,
# selects one (the four default-route halves on her TUN device plus a bypass to the connector,
# and nothing else), her IPv4 and IPv6 TCP, UDP and ICMP leave through the connector's egress
# address, her resolver points at the exit node's DNS server (reached through the tunnel),
# `waygate client doctor` passes, lockdown lets nothing else out, and `off` puts the routing table
# back byte for byte. A clean stop of the client host removes what it installed and its next
# start puts it back; a connector restart does not leave the client wedged. bob, whom no policy
# lets use the exit node, is offered nothing and his attempt changes nothing.
#   alice (C) 10.61.0.2 --+
#                         +-- connector (S) 10.62.0.1, fd62::1 --- outside host (O) 10.62.0.2, fd62::2
#   bob   (D) 10.63.0.2 --+
source "$(dirname "$0")/lib.sh"

three_hosts 6
D=$(new_ns d)
ip link add "vd$RUN_ID" netns "$D" type veth peer name "ve$RUN_ID" netns "$S"
ip -n "$D" addr add 10.63.0.2/24 dev "vd$RUN_ID"
ip -n "$S" addr add 10.63.0.1/24 dev "ve$RUN_ID"
ip -n "$D" link set "vd$RUN_ID" up
ip -n "$S" link set "ve$RUN_ID" up
# Each client's own resolver file, which `ip netns exec` mounts over /etc/resolv.conf.
for ns in "$C" "$D"; do
  mkdir -p "/etc/netns/$ns"
  printf 'nameserver 192.0.2.53\nsearch corp.example\n' >"/etc/netns/$ns/resolv.conf"
done
wg_key server
wg_key alice
wg_key bob

cat >"$WORK/connector.toml" <<TOML
[host]
admin = "127.0.0.1:9190"
api = ["10.60.0.1:80", "[fd60::1]:80"]
state_dir = "$WORK/state"
[overlay]
pool4 = "10.60.0.0/24"
pool6 = "fd60::/64"
[[identity]]
name = "alice"
public_key = "$(cat "$WORK/alice.pub")"
groups = ["staff"]
[[identity]]
name = "bob"
public_key = "$(cat "$WORK/bob.pub")"
[[socket]]
name = "corporate-exit"
type = "exit_node"
description = "Exit node for all corporate traffic"
connector = "connector-1"
egress = ["10.62.0.1", "fd62::1"]
egress_ports = "40000-40999"
dns = ["10.62.0.2"]
allow = ["10.62.0.0/24", "fd62::/64"]  # the outside host's private network: not the internet
[[policy]]
name = "staff-exit"
sockets = ["corporate-exit"]
permissions = ["network"]
groups = ["staff"]
[[stage]]
name = "tunnel"
plugin = "wireguard"
listen_port = 51820
private_key_file = "$WORK/server.key"
identities = true
[[stage]]
name = "api"
plugin = "tun"
device = "wa$RUN_ID"
address = ["10.60.0.1/24", "fd60::1/64"]
take = ["10.60.0.1/32", "fd60::1/128"]
[[stage]]
name = "policy"
plugin = "policy"
[[stage]]
name = "nat"
plugin = "nat"
block_size = 64
[[stage]]
name = "egress"
plugin = "egress"
interface = "vt$RUN_ID"
TOML

# client_config NAME ADDRESS4 ADDRESS6 ENDPOINT: configs/client.toml's shape for one identity.
client_config() {
  cat >"$WORK/$1.toml" <<TOML
[host]
admin = "127.0.0.1:9191"
[[stage]]
name = "device"
plugin = "tun"
device = "c$1$RUN_ID"
address = ["$2/24", "$3/64"]
[[stage]]
name = "exit"
plugin = "client"
device = "c$1$RUN_ID"
state = "$WORK/$1-selection.json"
[[stage.connector]]
name = "connector-1"
api = "10.60.0.1"
[[stage]]
name = "tunnel"
plugin = "wireguard"
private_key_file = "$WORK/$1.key"
[[stage.peer]]
name = "connector-1"
public_key = "$(cat "$WORK/server.pub")"
endpoint = "$4:51820"
allowed_ips = ["0.0.0.0/0", "::/0"]
persistent_keepalive = "2s"
TOML
}
client_config alice 10.60.0.2 fd60::2 10.61.0.1
client_config bob 10.60.0.3 fd60::3 10.63.0.1
ca="calice$RUN_ID"

start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"
CONNECTOR_PID=$WAYGATE_PID
start_waygate "$WORK/bob.toml" "$WORK/bob.log" "$D"
start_waygate "$WORK/alice.toml" "$WORK/alice.log" "$C"
ALICE_PID=$WAYGATE_PID

on() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
client() { local ns=$1 who=$2; shift 2; on "$ns" "$WAYGATE" client "$@" -c "$WORK/$who.toml"; }
tables() { on "$1" ip -4 route show table all; on "$1" ip -6 route show table all; }
# The table compared byte for byte once the kernel has settled its own link-local addresses.
no_tentative() { [[ -z $(on "$1" ip -6 addr show tentative) ]]; }
wait_for 10 no_tentative "$C"
tables "$C" >"$WORK/before.routes"

out=$(client "$D" bob exit-nodes) || fail "bob's exit-nodes: $out"
[[ $out == *"no exit node"* && $out != *corporate-exit* ]] || fail "bob is offered: $out"
wait_for 10 no_tentative "$D"
tables "$D" >"$WORK/bob-before.routes"
rc=0
out=$(client "$D" bob use corporate-exit 2>&1) || rc=$?
[[ $rc -eq 3 && $out == *"no connector offers"* ]] || fail "bob's use answered $rc: $out"
tables "$D" >"$WORK/bob-after.routes"
cmp -s "$WORK/bob-before.routes" "$WORK/bob-after.routes" || fail "bob's routing table changed: $(diff "$WORK/bob-before.routes" "$WORK/bob-after.routes")"
[[ ! -e $WORK/bob-selection.json ]] || fail "bob has a selection"
pass "bob is offered no exit node; his use is refused (exit 3) and changes nothing"

out=$(client "$C" alice exit-nodes) || fail "alice's exit-nodes: $out"
[[ $out == *"corporate-exit"*"Exit node for all corporate traffic"* ]] || fail "alice is offered: $out"
pass "alice is offered corporate-exit, with its description"

out=$(client "$C" alice use corporate-exit) || fail "use: $out"
tables "$C" >"$WORK/using.routes"
added=$(comm -13 <(sort "$WORK/before.routes") <(sort "$WORK/using.routes"))
removed=$(comm -23 <(sort "$WORK/before.routes") <(sort "$WORK/using.routes"))
expected=$(printf '%s \n' "0.0.0.0/1 dev $ca proto static scope link" "10.61.0.1 dev vc$RUN_ID proto static scope link" \
  "128.0.0.0/1 dev $ca proto static scope link" | sort; printf '%s\n' "8000::/1 dev $ca proto static metric 1024 pref medium" \
  "::/1 dev $ca proto static metric 1024 pref medium" | sort)
[[ -z $removed && $added == "$expected" ]] || fail "the routing table gained: $added (expected $expected); lost: $removed"
pass "use installs exactly 0.0.0.0/1, 128.0.0.0/1, ::/1, 8000::/1 on the TUN device and the bypass to the connector"
route=$(on "$C" ip route get 10.62.0.2)
[[ $route == *"dev $ca"* ]] || fail "10.62.0.2 goes $route"
route=$(on "$C" ip route get 10.61.0.1)
[[ $route == *"dev vc$RUN_ID"* ]] || fail "the connector goes $route"
pass "the outside goes through the tunnel, the connector itself around it"

exit_traffic 6 4 10.62.0.1
exit_traffic 6 6 fd62::1

# Bulk TCP both ways, byte for byte: the connector's egress glues the upload's segments into
# trains for its device, the client's TUN edge the download's, and both tunnel ends send trains
# of datagrams.
head -c 30000000 /dev/urandom >"$WORK/bulk"
want=$(sha256sum <"$WORK/bulk" | cut -d' ' -f1)
metric() {  # NS PORT NAME: the counter's value, summed over its labels
  ip netns exec "$1" curl -s "http://127.0.0.1:$2/metrics" | awk -v m="$3" '$1 ~ "^"m"({|$)" {s += $2} END {print s + 0}'
}
tcp_bulk "$O" receive listen=10.62.0.2 "$WORK/bulk" >"$WORK/up.sha" &
up=$!
wait_for 5 listening "$O" 9100
tcp_bulk "$C" send 10.62.0.2 "$WORK/bulk" || fail "the upload did not go through"
wait "$up" || fail "the outside host got no upload"
[[ $(cat "$WORK/up.sha") == "$want" ]] || fail "the upload arrived changed"
tcp_bulk "$O" send listen=10.62.0.2 "$WORK/bulk" &
down=$!
wait_for 5 listening "$O" 9100
got=$(tcp_bulk "$C" receive 10.62.0.2 "$WORK/bulk" 2>"$WORK/down.err") || fail "the download did not go through $(tail -3 "$WORK/down.err")"
wait "$down" || true
[[ $got == "$want" ]] || fail "the download arrived changed"
glued_up=$(metric "$S" 9190 waygate_egress_glued_writes_total)
glued_down=$(metric "$C" 9191 waygate_tun_glued_writes_total)
cut_up=$(metric "$C" 9191 waygate_tun_segmented_reads_total)
trains_c=$(metric "$C" 9191 waygate_wireguard_trains_sent_total)
trains_s=$(metric "$S" 9190 waygate_wireguard_trains_sent_total)
((glued_up > 0 && glued_down > 0 && cut_up > 0 && trains_c > 0 && trains_s > 0)) ||
  fail "offloads unused: egress glued $glued_up, client TUN glued $glued_down, client TUN reads cut $cut_up, trains $trains_c / $trains_s"
pass "30 MB each way through the exit byte for byte: $cut_up TSO reads cut apart out of the client's TUN, $glued_up glued writes out of the egress, $glued_down into the client's TUN, $trains_c + $trains_s trains of datagrams"

# UDP sent with UDP_SEGMENT (as QUIC does): the client's TUN takes each send whole (USO) and the
# edge cuts it into the datagrams the socket asked for, each arriving as sent.
ip netns exec "$O" timeout 15 python3 -c '
import hashlib, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.62.0.2", 9101)); s.settimeout(5)
got = []
try:
    while len(got) < 40:
        got.append(s.recv(2048))
except TimeoutError:
    pass
print(len(got), sorted(set(len(d) for d in got)), hashlib.sha256(b"".join(sorted(got))).hexdigest())' >"$WORK/uso.out" &
receiver=$!
sleep 0.5
cut_before=$(metric "$C" 9191 waygate_tun_segmented_reads_total)
sent=$(ip netns exec "$C" python3 -c '
import hashlib, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, 1000)  # UDP_SEGMENT: 1000-byte datagrams
grams = [bytes([i]) * 1000 for i in range(40)]
for k in range(4):
    s.sendto(b"".join(grams[10 * k:10 * k + 10]), ("10.62.0.2", 9101))
print(40, [1000], hashlib.sha256(b"".join(sorted(grams))).hexdigest())')
wait "$receiver" || true
cut_uso=$(($(metric "$C" 9191 waygate_tun_segmented_reads_total) - cut_before))
[[ $(cat "$WORK/uso.out") == "$sent" ]] || fail "UDP_SEGMENT sends arrived as '$(cat "$WORK/uso.out")', sent '$sent'"
((cut_uso >= 4)) || fail "the client's TUN cut $cut_uso UDP sends (USO), not the 4 sent"
pass "40 datagrams sent in 4 UDP_SEGMENT sends arrived whole, each send cut apart by the client's TUN edge"

resolver=$(cat "/etc/netns/$C/resolv.conf")
[[ $resolver == *"nameserver 10.62.0.2"* && $resolver != *192.0.2.53* && $resolver == *"search corp.example"* ]] ||
  fail "alice's resolver: $resolver"
pass "alice's resolver names the exit node's DNS server only (her search domain kept)"

# Nothing answers DNS there yet: the doctor fails that check, and says where its packets went
# (traced in alice's own pipeline: out through the tunnel, so the silence is beyond it).
out=$(client "$C" alice doctor) && fail "the doctor passed without a DNS server: $out"
[[ $out == *"FAIL DNS 10.62.0.2 answers"* ]] || fail "doctor without DNS: $out"
grep -Eq "^pass where packets stop: .*UDP leaves through tunnel \([0-9]+ packets?\)" <<<"$out" || fail "where alice's packets stop: $out"
pass "with no DNS server, waygate client doctor fails and says where the queries went: $(grep 'where packets stop' <<<"$out")"

# A DNS server on the outside host, at the address the socket names: it answers anything.
on "$O" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.62.0.2", 53))
while True:
    q, peer = s.recvfrom(512)
    s.sendto(q[:2] + bytes([q[2] | 0x80, 0x80]) + q[4:], peer)
' >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.3
out=$(client "$C" alice doctor) || fail "doctor: $out"
[[ $out == *"all checks pass"* && $out == *"DNS 10.62.0.2 answers"* && $out == *"pass route 8000::/1"* ]] || fail "doctor: $out"
pass "waygate client doctor passes: $(grep -c '^pass' <<<"$out") checks"
out=$(client "$C" alice status) || fail "status: $out"
[[ $out == *"tunnel to connector-1 at 10.61.0.1:51820: up"* && $out == *"exit node: corporate-exit on connector-1"* ]] || fail "status: $out"
pass "status shows the tunnel and the exit node in use"

# Lockdown: the same exit node, and nothing outside the tunnel. Before it the connector answers a
# ping on the bypass; with it, only its WireGuard port is reachable.
on "$C" ping -c 1 -W 2 10.61.0.1 >/dev/null || fail "the connector does not answer a ping before lockdown"
out=$(client "$C" alice use corporate-exit --lockdown) || fail "use --lockdown: $out"
! on "$C" ping -c 1 -W 1 10.61.0.1 >/dev/null 2>&1 || fail "a ping around the tunnel left alice under lockdown"
on "$C" ping -c 2 -i 0.2 -W 2 10.62.0.2 >/dev/null || fail "the tunnel carries nothing under lockdown"
out=$(on "$C" "$WAYGATE" doctor -c "$WORK/alice.toml") || fail "waygate doctor under lockdown: $out"
[[ $out == *"pass lockdown"* ]] || fail "waygate doctor (the same checks on a client's file) under lockdown: $out"
pass "lockdown: nothing leaves around the tunnel, the tunnel still carries"

out=$(client "$C" alice off) || fail "off: $out"
tables "$C" >"$WORK/after.routes"
cmp -s "$WORK/before.routes" "$WORK/after.routes" || fail "off left: $(diff "$WORK/before.routes" "$WORK/after.routes")"
[[ $(cat "/etc/netns/$C/resolv.conf") == $'nameserver 192.0.2.53\nsearch corp.example' ]] || fail "resolver after off: $(cat "/etc/netns/$C/resolv.conf")"
! on "$C" nft list table inet waygate_exit >/dev/null 2>&1 || fail "the lockdown table is still there"
routes=$(on "$C" curl -sS --noproxy '*' -m 5 http://10.60.0.1/v1/routes)
[[ $routes == *'"exit_node":null'* ]] || fail "the connector still has alice on an exit node: $routes"
pass "off: the routing table byte for byte as before, the resolver as before, no lockdown, the connector told"

# A clean stop of the client host removes what it installed; its next start puts it back.
client "$C" alice use corporate-exit >/dev/null || fail "use again"
tables "$C" >"$WORK/using.routes"
kill -TERM "$ALICE_PID"
wait "$ALICE_PID" || fail "alice's client host exited with $? on SIGTERM"
[[ -z $(on "$C" ip route show 10.61.0.1) ]] || fail "the bypass outlived the client host"
[[ $(cat "/etc/netns/$C/resolv.conf") == $'nameserver 192.0.2.53\nsearch corp.example' ]] || fail "resolver after stop: $(cat "/etc/netns/$C/resolv.conf")"
start_waygate "$WORK/alice.toml" "$WORK/alice.log" "$C"
ALICE_PID=$WAYGATE_PID
wait_for 5 grep -q "exit node corporate-exit (connector-1) in use again" "$WORK/alice.log"
tables "$C" >"$WORK/again.routes"
# (The new device has a new random link-local address of the kernel's.)
kernel_own() { grep -v '^local fe80::' "$1" | sort; }
cmp -s <(kernel_own "$WORK/using.routes") <(kernel_own "$WORK/again.routes") || fail "after a restart: $(diff "$WORK/using.routes" "$WORK/again.routes")"
pass "a clean stop removes the exit node's routes, bypass and resolver; the next start puts them back"

# The connector restarts: the client's next handshake brings the tunnel back by itself.
kill -TERM "$CONNECTOR_PID"
wait "$CONNECTOR_PID" || true
start_waygate "$WORK/connector.toml" "$WORK/connector.log.2" "$S"
wait_for 60 on "$C" ping -c 1 -W 1 10.62.0.2 || fail "alice's traffic did not resume after the connector restarted"
pass "after a connector restart, alice's traffic resumes with the next handshake"

out=$(client "$C" alice off) || fail "off: $out"
stop_waygate
