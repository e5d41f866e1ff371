#!/usr/bin/env bash
# Hitless failover: a pair of connectors serves one exit node under keepalived (VRRP), the tunnel's
# endpoint 10.96.0.100 and the egress address 10.97.0.100 floating between them, the NAT sessions
# replicated from the active to the standby ([stage.pair]). A client (Waygate's tunnel: a
# handshake asked for after 1 s of silence) holds a TCP echo every 100 ms and a long download
# through the exit node; the active connector is killed with SIGKILL. keepalived (its health check
# on /healthz failing) moves both addresses; the new active, told by keepalived's notify script,
# translates the same connections through the same address and port: both go on, the outside
# host sees one connection each, from 10.97.0.100, and the pause is printed; the new active's NAT
# log answers for a session the old one began. keepalived runs the files of examples/pair.
# Under a second download: the old active comes back as standby, without taking the addresses
# back, and catches up; it is restarted (SIGKILL) and catches up again; then the active is killed
# and the download ends whole through the restarted one. The replication link cut, both keep
# their roles and the standby's doctor says it is cut off; mended, it catches up. VRRP's adverts
# cut (split brain), both are active and their doctors say so; mended, VRRP leaves one active and
# the other level with it (the same table digest), and the interactive session went on.
#   client C --- switch (bridges bi, bo) --- S1, S2 --- outside host O
# ctest-timeout: 300
source "$(dirname "$0")/lib.sh"
command -v keepalived >/dev/null || { echo "SKIP: keepalived not installed"; exit 77; }
C=$(new_ns c)
S1=$(new_ns s1)
S2=$(new_ns s2)
O=$(new_ns o)
W=$(new_ns w)  # the switch: a bridge for each side
for bridge in bi bo; do
  ip -n "$W" link add "$bridge" type bridge
  ip -n "$W" link set "$bridge" up
done
n=0
join() {  # NS DEV BRIDGE ADDRESS: a veth from NS into the switch's bridge
  n=$((n + 1))
  ip link add "$2" netns "$1" type veth peer name "x$n$RUN_ID" netns "$W"
  ip -n "$W" link set "x$n$RUN_ID" master "$3" up
  ip -n "$1" addr add "$4" dev "$2"
  ip -n "$1" link set "$2" up
}
join "$C" "c$RUN_ID" bi 10.96.0.2/24
join "$S1" "in$RUN_ID" bi 10.96.0.11/24
join "$S2" "in$RUN_ID" bi 10.96.0.12/24
join "$S1" "out$RUN_ID" bo 10.97.0.11/24
join "$S2" "out$RUN_ID" bo 10.97.0.12/24
join "$O" "o$RUN_ID" bo 10.97.0.2/24
wg_key server  # one tunnel identity for the pair
wg_key client
(umask 077 && "$WAYGATE" genpsk >"$WORK/pair.key")
# The two connectors' files differ only in their ends of the replication link.
connector() {  # ADDRESS PEER NAME
  cat <<TOML
[host]
admin = "127.0.0.1:9190"
connector = "$3"
[overlay]
pool4 = "10.98.0.0/24"
[[identity]]
name = "laptop"
public_key = "$(cat "$WORK/client.pub")"
[[socket]]
name = "exit"
type = "exit_node"
egress = ["10.97.0.100"]
egress_ports = "40000-40999"
allow = ["10.97.0.0/24"]
[[policy]]
name = "all"
organization_wide = true
permissions = ["network"]
[[stage]]
name = "tunnel"
plugin = "wireguard"
listen_port = 51820
listen_address = ["10.96.0.100"]
private_key_file = "$WORK/server.key"
identities = true
[[stage]]
name = "policy"
plugin = "policy"
audit_log = "$WORK/audit-$1.log"
[[stage]]
name = "nat"
plugin = "nat"
block_size = 64
log = "$WORK/nat-$3.log"
[stage.pair]
listen = "$1:5405"
peer = "$2:5405"
key_file = "$WORK/pair.key"
[[stage]]
name = "egress"
plugin = "egress"
interface = "out$RUN_ID"
TOML
}
connector 10.96.0.11 10.96.0.12 s1 >"$WORK/s1.toml"
connector 10.96.0.12 10.96.0.11 s2 >"$WORK/s2.toml"
# keepalived decides who is active; its notify script tells the nat stage. Both are the files an
# operator starts from (examples/pair), with this test's interfaces and addresses.
EXAMPLE=$(cd "$(dirname "$0")/../../examples/pair" && pwd)
install -m 755 "$EXAMPLE/notify.sh" "$WORK/notify.sh"
keepalived_conf() {  # NAME PRIORITY
  sed -e "s/router_id waygate-a/router_id $1/" -e "s/priority 150/priority $2/" \
    -e "s/ens4/in$RUN_ID/g" -e "s/ens5/out$RUN_ID/g" \
    -e "s#198.51.100.10/24#10.96.0.100/24#" -e "s#203.0.113.10/24#10.97.0.100/24#" \
    -e "s#/etc/keepalived/waygate-notify.sh#$WORK/notify.sh#" -e "s#/run/waygate-vrrp.fifo#$WORK/$1.fifo#" \
    "$EXAMPLE/keepalived.conf"
}
keepalived_conf s1 150 >"$WORK/k1.conf"
keepalived_conf s2 100 >"$WORK/k2.conf"
for want in "router_id s2" "priority 100" "interface in$RUN_ID" "10.96.0.100/24 dev in$RUN_ID" \
  "10.97.0.100/24 dev out$RUN_ID" "vrrp_notify_fifo $WORK/s2.fifo" "vrrp_notify_fifo_script \"$WORK/notify.sh http"; do
  grep -qF "$want" "$WORK/k2.conf" || fail "examples/pair/keepalived.conf changed: no '$want' in $(cat "$WORK/k2.conf")"
done
start_waygate "$WORK/s1.toml" "$WORK/s1.log" "$S1"
P1=$WAYGATE_PID
start_waygate "$WORK/s2.toml" "$WORK/s2.log" "$S2"
P2=$WAYGATE_PID
for i in 1 2; do
  ns=$([[ $i == 1 ]] && echo "$S1" || echo "$S2")
  # Each its own pid files: two keepalived on one machine.
  ip netns exec "$ns" keepalived -n -l -D -f "$WORK/k$i.conf" -p "$WORK/k$i.pid" -r "$WORK/v$i.pid" -c "$WORK/c$i.pid" >"$WORK/k$i.log" 2>&1 &
  PIDS+=($!)
done
holds() { [[ -n $(ip -n "$1" addr show to 10.96.0.100) && -n $(ip -n "$1" addr show to 10.97.0.100) ]]; }
pair() { ip netns exec "$1" curl -sS -m 2 http://127.0.0.1:9190/v1/nat/pair; }
field() { pair "$1" | python3 -c "import json, sys; print(json.load(sys.stdin)['$2'])"; }
# Level: the same sessions on both (the table's digest), the standby not behind.
level_with() {  # STANDBY ACTIVE
  [[ $(field "$1" role) == standby && $(field "$2" role) == active && $(field "$1" behind) == False &&
     $(field "$1" digest) == $(field "$2" digest) ]]
}
roles() { level_with "$S2" "$S1"; }
wait_for 15 holds "$S1" || fail "keepalived gave S1 no floating addresses: $(tail -5 "$WORK/k1.log")"
wait_for 10 roles || fail "roles: S1 $(pair "$S1"), S2 $(pair "$S2")"
pass "keepalived: S1 holds 10.96.0.100 (the tunnel's endpoint) and 10.97.0.100 (the egress); its nat is active, S2's standby and level"

# Waygate's tunnel on the client: a TUN device and the wireguard edge; 1 s of silence asks for a
# handshake, which lands on whichever connector holds 10.96.0.100.
cat >"$WORK/client.toml" <<TOML
[host]
admin = "127.0.0.1:9191"
[[stage]]
name = "device"
plugin = "tun"
device = "cd$RUN_ID"
address = ["10.98.0.2/24"]
[[stage]]
name = "tunnel"
plugin = "wireguard"
private_key_file = "$WORK/client.key"
failover_after = "1s"
[[stage.peer]]
name = "exit"
public_key = "$(cat "$WORK/server.pub")"
endpoint = "10.96.0.100:51820"
allowed_ips = ["0.0.0.0/0"]
persistent_keepalive = "1s"
TOML
start_waygate "$WORK/client.toml" "$WORK/client.log" "$C"
ip -n "$C" route add 10.97.0.0/24 dev "cd$RUN_ID"
ip netns exec "$C" ping -c 2 -i 0.3 -W 2 10.97.0.2 >/dev/null || fail "no ping through the exit node"

# The outside host: a TCP echo (it says whom it accepted) and a file to download.
ip netns exec "$O" python3 -c '
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.97.0.2", 7)); s.listen()
def serve(c):
    while True:
        d = c.recv(100)
        if not d: return
        c.sendall(d)
while True:
    c, a = s.accept(); print("%s:%d" % a, flush=True); threading.Thread(target=serve, args=(c,), daemon=True).start()
' >"$WORK/echo.log" 2>&1 &
PIDS+=($!)
head -c 8000000 /dev/urandom >"$WORK/big"
head -c 16000000 /dev/urandom >"$WORK/big2"
# The files are served at 1 MB/s by the server itself, so that each download lasts through what
# is done under it (curl's --limit-rate lets a burst through first).
cat >"$WORK/paced.py" <<'PY'
import http.server, time
class Paced(http.server.SimpleHTTPRequestHandler):
    def copyfile(self, source, outputfile):
        while chunk := source.read(65536):
            outputfile.write(chunk)
            outputfile.flush()
            time.sleep(len(chunk) / 1e6)
http.server.ThreadingHTTPServer(("10.97.0.2", 8080), Paced).serve_forever()
PY
(cd "$WORK" && exec ip netns exec "$O" python3 "$WORK/paced.py" >"$WORK/http.log" 2>&1) &
PIDS+=($!)
wait_for 5 listening "$O" 7
wait_for 5 listening "$O" 8080

# An interactive session: an echo every 100 ms for SECONDS; it prints how many and the longest
# wait for an answer, the pause.
interactive() {
  ip netns exec "$C" python3 -c '
import socket, sys, time
s = socket.create_connection(("10.97.0.2", 7), timeout=30)
worst, n, end = 0.0, 0, time.time() + float(sys.argv[1])
while time.time() < end:
    t = time.time(); s.sendall(b"0123456789"); got = b""
    while len(got) < 10: got += s.recv(10 - len(got))
    worst = max(worst, time.time() - t); n += 1
    time.sleep(0.1)
print(n, "%.2f" % worst)
' "$1"
}
interactive 12 >"$WORK/echo.out" 2>&1 &
ECHO=$!
# A long download: 8 MB at 1 MB/s.
ip netns exec "$C" curl -sS -o "$WORK/got" http://10.97.0.2:8080/big 2>"$WORK/curl.err" &
DOWNLOAD=$!
sleep 3
taken=$(field "$S2" sessions)
((taken >= 2)) || fail "the standby holds $taken sessions before the failover: $(pair "$S2")"
kill_hard "$P1"
wait "$ECHO" || fail "the interactive session broke: $(cat "$WORK/echo.out")"
read -r echoes pause <<<"$(cat "$WORK/echo.out")"
wait "$DOWNLOAD" || fail "the download broke: $(cat "$WORK/curl.err")"
cmp -s "$WORK/big" "$WORK/got" || fail "the download is not the file ($(stat -c %s "$WORK/got") bytes)"
holds "$S2" || fail "S2 does not hold the floating addresses: $(ip -n "$S2" addr)"
[[ $(field "$S2" role) == active ]] || fail "S2 is not active: $(pair "$S2")"
[[ $(wc -l <"$WORK/echo.log") -eq 1 && $(cat "$WORK/echo.log") == 10.97.0.100:* ]] || fail "the outside host saw: $(cat "$WORK/echo.log")"
grep -q '^10.97.0.100 - - .*"GET /big' "$WORK/http.log" || fail "the download came from: $(cat "$WORK/http.log")"
python3 -c "import sys; sys.exit(0 if float('$pause') < 5 else 1)" || fail "the pause was $pause s"
grep -q "pair: active ([0-9]* sessions taken over)" "$WORK/s2.log" || fail "S2's log: $(grep pair "$WORK/s2.log")"
grep -q '"event":"granted","identity":"laptop"' "$WORK/audit-10.96.0.12.log" || fail "S2 did not audit laptop's access: $(cat "$WORK/audit-10.96.0.12.log" 2>&1)"
pass "the active killed: both connections went on through S2 from $(cat "$WORK/echo.log"), the echo's longest pause $pause s ($echoes echoes), the 8 MB download whole"
echo "PAUSE interactive session through a failover with Waygate's tunnel: $pause s"
# keepalived said so through the example's notify script; the doctor shows it.
ip netns exec "$S2" "$WAYGATE" doctor -c "$WORK/s2.toml" --wait 0.2 >"$WORK/doctor-s2.out" 2>&1 || true
grep -q "^pass VRRP: keepalived's instance pair is MASTER (priority 100)" "$WORK/doctor-s2.out" || fail "S2's doctor: $(cat "$WORK/doctor-s2.out")"
grep -q "^pass floating addresses: 10.97.0.100 here" "$WORK/doctor-s2.out" || fail "S2's doctor: $(cat "$WORK/doctor-s2.out")"
# The NAT log of the new active answers for the pair: the echo's session, which S1 translated
# first and S2 carries on.
echo_port=$(cut -d: -f2 "$WORK/echo.log")
ip netns exec "$S2" "$WAYGATE" nat-lookup "10.97.0.100:$echo_port" --at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" -c "$WORK/s2.toml" >"$WORK/lookup.out" ||
  fail "nat-lookup on S2: $(cat "$WORK/lookup.out")"
grep -q 'identity "laptop".*translated by s1' "$WORK/lookup.out" || fail "nat-lookup on S2 said: $(cat "$WORK/lookup.out")"
pass "S2's doctor shows keepalived's MASTER and the egress address; its NAT log answers for S1's session: $(cat "$WORK/lookup.out")"

# A second download, 16 MB at 1 MB/s; under it the old active comes back as standby
# (keepalived does not take the addresses back) and catches up, is killed and started again and
# catches up again; then the active is killed, and the download ends through the restarted one.
ip netns exec "$C" curl -sS -o "$WORK/got2" http://10.97.0.2:8080/big2 2>"$WORK/curl2.err" &
DOWNLOAD=$!
sleep 1
start_waygate "$WORK/s1.toml" "$WORK/s1b.log" "$S1"
P1=$WAYGATE_PID
level() { level_with "$S1" "$S2"; }
wait_for 15 level || fail "the old active did not catch up: S1 $(pair "$S1"), S2 $(pair "$S2")"
holds "$S1" && fail "the old active took the addresses back"
pass "the old active is back as standby, level with S2 ($(field "$S1" sessions) sessions, digest $(field "$S1" digest)), the addresses stay with S2"
kill_hard "$P1"
start_waygate "$WORK/s1.toml" "$WORK/s1c.log" "$S1"
P1=$WAYGATE_PID
wait_for 15 level || fail "the restarted standby did not catch up: S1 $(pair "$S1"), S2 $(pair "$S2")"
kill -0 "$DOWNLOAD" || fail "the download ended before the standby's restart was over: $(cat "$WORK/curl2.err")"
pass "the standby restarted mid-stream (SIGKILL): level again ($(field "$S1" sessions) sessions)"
kill_hard "$P2"
wait "$DOWNLOAD" || fail "the second download broke: $(cat "$WORK/curl2.err")"
cmp -s "$WORK/big2" "$WORK/got2" || fail "the second download is not the file ($(stat -c %s "$WORK/got2") bytes)"
[[ $(grep -c '"GET /big2' "$WORK/http.log") -eq 1 ]] && grep -q '^10.97.0.100 - - .*"GET /big2' "$WORK/http.log" ||
  fail "the second download: $(cat "$WORK/http.log")"
# The download may end before the takeover does (its last bytes were in flight): the takeover
# is waited for, not assumed.
took_over() { holds "$S1" && [[ $(field "$S1" role) == active ]]; }
wait_for 10 took_over || fail "S1 did not take over: $(pair "$S1")"
pass "the active killed under the second download: it ended whole through the restarted standby"
start_waygate "$WORK/s2.toml" "$WORK/s2b.log" "$S2"
P2=$WAYGATE_PID
wait_for 15 level_with "$S2" "$S1" || fail "S2 did not come back level: S1 $(pair "$S1"), S2 $(pair "$S2")"

# The replication link cut: both keep their roles and the traffic flows; the standby says it no
# longer hears the active. Mended, it catches up by itself.
ip netns exec "$S2" nft -f - <<NFT
table inet cut$RUN_ID {
  chain input { type filter hook input priority 0; udp dport 5405 drop; }
}
NFT
ip netns exec "$C" python3 -c '
import socket
s = socket.create_connection(("10.97.0.2", 7), timeout=5)
for _ in range(5): s.sendall(b"x"); s.recv(1)' || fail "traffic stopped with the link cut"
doctor() { ip netns exec "$1" "$WAYGATE" doctor -c "$WORK/$2.toml" --wait 0.2 2>&1 | grep "pair:" || true; }
silent() { [[ $(doctor "$S2" s2) == "FAIL pair: standby of s1 at 10.96.0.11:5405"*"heard "* ]]; }
wait_for 10 silent || fail "the standby did not say it is cut off: $(doctor "$S2" s2)"
[[ $(field "$S2" role) == standby && $(field "$S1" role) == active ]] || fail "roles changed with the link cut"
holds "$S1" || fail "S1 lost the addresses with the link cut"
pass "the link cut: roles and traffic stay; the standby's doctor says $(doctor "$S2" s2)"
ip netns exec "$S2" nft delete table inet "cut$RUN_ID"
wait_for 15 level_with "$S2" "$S1" || fail "the standby did not catch up after the link came back: S1 $(pair "$S1"), S2 $(pair "$S2")"
pass "the link mended: the standby is level again ($(field "$S2" sessions) sessions), $(doctor "$S2" s2)"

# Split brain: VRRP's adverts cut between the two (a firewall dropping protocol 112), S2 becomes
# MASTER too and holds the addresses as well; each active hears the other's replication, takes
# nothing of it and says so. Mended, VRRP leaves S1 (the higher priority) MASTER, S2 standby, and
# S2 takes S1's table whole. An interactive session runs through all of it.
interactive 25 >"$WORK/echo3.out" 2>&1 &
ECHO=$!
sleep 1
ip netns exec "$S2" nft -f - <<NFT
table inet vrrp$RUN_ID {
  chain input { type filter hook input priority 0; ip protocol 112 drop; }
  chain output { type filter hook output priority 0; ip protocol 112 drop; }
}
NFT
split() { [[ $(field "$S1" split_brain) == True && $(field "$S2" split_brain) == True ]]; }
wait_for 20 split || fail "no split brain seen: S1 $(pair "$S1"), S2 $(pair "$S2")"
holds "$S2" || fail "S2 is active without the addresses: $(ip -n "$S2" addr)"
[[ $(doctor "$S1" s1) == "FAIL pair: active, and s2 at 10.96.0.12:5405 says it is active too (split brain)"* ]] ||
  fail "S1's doctor: $(doctor "$S1" s1)"
pass "VRRP's adverts cut: both active, both say split brain; S1's doctor: $(doctor "$S1" s1)"
ip netns exec "$S2" nft delete table inet "vrrp$RUN_ID"
wait_for 20 level_with "$S2" "$S1" || fail "after the split brain S2 is not level with S1: S1 $(pair "$S1"), S2 $(pair "$S2")"
holds "$S2" && fail "S2 kept the addresses after the split brain"
wait "$ECHO" || fail "the interactive session broke through the split brain: $(cat "$WORK/echo3.out")"
pass "VRRP mended: S1 active, S2 standby and level with it (digest $(field "$S2" digest)); the interactive session went on through it all (longest pause $(cut -d' ' -f2 "$WORK/echo3.out") s)"
