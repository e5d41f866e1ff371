#!/usr/bin/env bash
# Hitless failover: a pair of connectors serves one exit node under keepalived (VRRP), the tunnel's
# endpoint 10.96.0.100 and the egress address 10.97.0.100 floating between them, the NAT sessions
# replicated from the active to the standby ([stage.pair]). A client (Waygate's tunnel: a
# handshake asked for after 1 s of silence) holds a TCP echo every 100 ms and a long download
# through the exit node; the active connector is killed with SIGKILL. keepalived (its health check
# on /healthz failing) moves both addresses; the new active, told by keepalived's notify script,
# translates the same connections through the same address and port: both go on, the outside
# host sees one connection each, from 10.97.0.100, and the pause is printed. The old active comes
# back as standby, without taking the addresses back, and catches up. The replication link cut,
# both keep their roles and the standby's doctor says it is cut off; mended, it catches up.
#   client C --- switch (bridges bi, bo) --- S1, S2 --- outside host O
# ctest-timeout: 180
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
connector() {  # ADDRESS PEER
  cat <<TOML
[host]
admin = "127.0.0.1:9190"
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
connector 10.96.0.11 10.96.0.12 >"$WORK/s1.toml"
connector 10.96.0.12 10.96.0.11 >"$WORK/s2.toml"
# keepalived decides who is active; its notify script tells the nat stage.
cat >"$WORK/notify.sh" <<'SH'
#!/bin/sh
curl -sS -m 2 -X PUT -H 'Content-Type: application/json' http://127.0.0.1:9190/v1/nat/pair -d "{\"role\": \"$1\"}" >/dev/null
SH
chmod 755 "$WORK/notify.sh"
# One VRRP instance moves both addresses; a connector that stops answering /healthz gives them up.
keepalived_conf() {  # NAME PRIORITY
  cat <<CONF
global_defs {
  router_id $1
  script_user root
  enable_script_security
}
vrrp_script waygate {
  script "/usr/bin/curl -sf -m 1 http://127.0.0.1:9190/healthz"
  interval 1
  fall 1
  rise 2
}
vrrp_instance pair {
  state BACKUP
  interface in$RUN_ID
  virtual_router_id 77
  priority $2
  advert_int 1
  virtual_ipaddress {
    10.96.0.100/24 dev in$RUN_ID
    10.97.0.100/24 dev out$RUN_ID
  }
  track_script {
    waygate
  }
  notify_master "$WORK/notify.sh active"
  notify_backup "$WORK/notify.sh standby"
  notify_fault "$WORK/notify.sh standby"
  nopreempt
}
CONF
}
keepalived_conf s1 150 >"$WORK/k1.conf"
keepalived_conf s2 100 >"$WORK/k2.conf"
start_waygate "$WORK/s1.toml" "$WORK/s1.log" "$S1"
P1=$WAYGATE_PID
start_waygate "$WORK/s2.toml" "$WORK/s2.log" "$S2"
for i in 1 2; do
  ns=$([[ $i == 1 ]] && echo "$S1" || echo "$S2")
  # Each its own pid files: two keepalived on one machine.
  ip netns exec "$ns" keepalived -n -l -D -f "$WORK/k$i.conf" -p "$WORK/k$i.pid" -r "$WORK/v$i.pid" -c "$WORK/c$i.pid" >"$WORK/k$i.log" 2>&1 &
  PIDS+=($!)
done
holds() { [[ -n $(ip -n "$1" addr show to 10.96.0.100) && -n $(ip -n "$1" addr show to 10.97.0.100) ]]; }
pair() { ip netns exec "$1" curl -sS -m 2 http://127.0.0.1:9190/v1/nat/pair; }
field() { pair "$1" | python3 -c "import json, sys; print(json.load(sys.stdin)['$2'])"; }
roles() { [[ $(field "$S1" role) == active && $(field "$S2" role) == standby && $(field "$S2" behind) == False ]]; }
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
(cd "$WORK" && exec ip netns exec "$O" python3 -m http.server 8080 --bind 10.97.0.2 >"$WORK/http.log" 2>&1) &
PIDS+=($!)
wait_for 5 listening "$O" 7
wait_for 5 listening "$O" 8080

# An interactive session: an echo every 100 ms for 12 s; the longest wait for an answer is the pause.
ip netns exec "$C" python3 -c '
import socket, time
s = socket.create_connection(("10.97.0.2", 7), timeout=30)
worst, n, end = 0.0, 0, time.time() + 12
while time.time() < end:
    t = time.time(); s.sendall(b"0123456789"); got = b""
    while len(got) < 10: got += s.recv(10 - len(got))
    worst = max(worst, time.time() - t); n += 1
    time.sleep(0.1)
print(n, "%.2f" % worst)
' >"$WORK/echo.out" 2>&1 &
ECHO=$!
# A long download: 8 MB at 1 MB/s.
ip netns exec "$C" curl -sS --limit-rate 1M -o "$WORK/got" http://10.97.0.2:8080/big 2>"$WORK/curl.err" &
DOWNLOAD=$!
sleep 3
taken=$(field "$S2" sessions)
((taken >= 2)) || fail "the standby holds $taken sessions before the failover: $(pair "$S2")"
kill -KILL "$P1"
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

# The old active comes back: as standby (keepalived does not take the addresses back), level.
start_waygate "$WORK/s1.toml" "$WORK/s1b.log" "$S1"
level() { [[ $(field "$S1" role) == standby && $(field "$S1" behind) == False && $(field "$S1" sessions) == $(field "$S2" sessions) ]]; }
wait_for 15 level || fail "the old active did not catch up: S1 $(pair "$S1"), S2 $(pair "$S2")"
holds "$S1" && fail "the old active took the addresses back"
pass "the old active is back as standby, level with S2 ($(field "$S1" sessions) sessions), the addresses stay with S2"

# The replication link cut: both keep their roles and the traffic flows; the standby says it no
# longer hears the active. Mended, it catches up by itself.
ip netns exec "$S1" nft -f - <<NFT
table inet cut$RUN_ID {
  chain input { type filter hook input priority 0; udp dport 5405 drop; }
}
NFT
ip netns exec "$C" python3 -c '
import socket
s = socket.create_connection(("10.97.0.2", 7), timeout=5)
for _ in range(5): s.sendall(b"x"); s.recv(1)' || fail "traffic stopped with the link cut"
doctor() { ip netns exec "$1" "$WAYGATE" doctor -c "$WORK/$2.toml" --wait 0.2 2>&1 | grep "pair:" || true; }
silent() { [[ $(doctor "$S1" s1) == "FAIL pair: standby of 10.96.0.12:5405"*"heard "* ]]; }
wait_for 10 silent || fail "the standby did not say it is cut off: $(doctor "$S1" s1)"
[[ $(field "$S1" role) == standby && $(field "$S2" role) == active ]] || fail "roles changed with the link cut"
holds "$S2" || fail "S2 lost the addresses with the link cut"
pass "the link cut: roles and traffic stay; the standby's doctor says $(doctor "$S1" s1)"
ip netns exec "$S1" nft delete table inet "cut$RUN_ID"
wait_for 15 level || fail "the standby did not catch up after the link came back: S1 $(pair "$S1"), S2 $(pair "$S2")"
pass "the link mended: the standby is level again ($(field "$S1" sessions) sessions), $(doctor "$S1" s1)"
