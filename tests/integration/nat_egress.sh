#!/usr/bin/env bash
# Three plugins together: a WireGuard client's traffic to the outside host leaves the connector
# translated to the socket's egress address by the nat stage. The egress address is routed to the
# connector (a /32 and a /128 of its own, not shared with the kernel), so translated packets
# leave through a tun edge and the kernel's forwarding, and answers come back through it.
#   client (wireguard-go) --udp-- connector [wireguard -> nat -> tun] --routed-- outside host
# The outside host must see only the egress address: for TCP, UDP and ICMP, over IPv4 and IPv6.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }

three_hosts 6
# The egress addresses route to the connector, and there to its tun.
ip -n "$O" route add 10.62.0.9/32 via 10.62.0.1
ip -n "$O" route add fd62::9/128 via fd62::1

wg_key server
wg_key client
cat >"$WORK/connector.toml" <<TOML
[host]
admin = ""
[[stage]]
name = "tunnel"
plugin = "wireguard"
netns = "$S"
listen_port = 51820
private_key_file = "$WORK/server.key"
[[stage.peer]]
name = "laptop"
public_key = "$(cat "$WORK/client.pub")"
allowed_ips = ["10.60.0.2/32", "fd60::2/128"]
[[stage]]
name = "nat"
plugin = "nat"
port_range = "30000-30999"
block_size = 64
max_sessions = 10000
[[stage.socket]]
id = 0
egress4 = "10.62.0.9"
egress6 = "fd62::9"
[[stage]]
name = "egress"
plugin = "tun"
netns = "$S"
device = "we$RUN_ID"
TOML
start_waygate "$WORK/connector.toml" "$WORK/connector.log"
ip -n "$S" route add 10.62.0.9/32 dev "we$RUN_ID"
ip -n "$S" route add fd62::9/128 dev "we$RUN_ID"

GC="gc$RUN_ID"
wireguard_go "$C" "$GC"
ip netns exec "$C" wg set "$GC" private-key "$WORK/client.key" \
  peer "$(cat "$WORK/server.pub")" endpoint 10.61.0.1:51820 allowed-ips 0.0.0.0/0,::/0
ip -n "$C" addr add 10.60.0.2/32 dev "$GC"
ip -n "$C" addr add fd60::2/128 dev "$GC" nodad
ip -n "$C" link set "$GC" up mtu 1420
# The exit-node routes, as a client installs them: never clashing with its own default route.
for prefix in 0.0.0.0/1 128.0.0.0/1 ::/1 8000::/1; do ip -n "$C" route add "$prefix" dev "$GC"; done

for family in 4 6; do
  out=$([[ $family == 4 ]] && echo 10.62.0.2 || echo fd62::2)
  egress=$([[ $family == 4 ]] && echo 10.62.0.9 || echo fd62::9)
  url=$([[ $family == 4 ]] && echo "http://10.62.0.2:8084/" || echo "http://[fd62::2]:8086/")

  ip netns exec "$C" ping "-$family" -c 3 -i 0.2 -W 3 "$out" >/dev/null || fail "ping over IPv$family through the exit"
  pass "ICMP over IPv$family reaches the outside host (which has no route to the client: only translated packets get answers)"

  (cd "$WORK" && exec ip netns exec "$O" python3 -m http.server "808$family" --bind "$out" >"$WORK/http$family.log" 2>&1) &
  PIDS+=($!)
  wait_for 5 listening "$O" "808$family"
  ip netns exec "$C" curl -sS -g --noproxy '*' -f -o /dev/null "$url" 2>"$WORK/curl.log" || fail "HTTP over IPv$family: $(cat "$WORK/curl.log")"
  grep -q "^$egress - - " "$WORK/http$family.log" || fail "the outside host saw $(cut -d' ' -f1 "$WORK/http$family.log")"
  pass "TCP over IPv$family: the outside host saw only $egress"

  ip netns exec "$O" timeout 5 python3 -c '
import socket, sys
fam = socket.AF_INET if sys.argv[2] == "4" else socket.AF_INET6
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9000 + int(sys.argv[2])))
data, peer = s.recvfrom(100)
s.sendto(peer[0].encode(), peer)
' "$out" "$family" >/dev/null 2>&1 &
  PIDS+=($!)
  sleep 0.3
  seen=$(ip netns exec "$C" timeout 3 python3 -c '
import socket, sys
fam = socket.AF_INET if sys.argv[2] == "4" else socket.AF_INET6
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"who am i", (sys.argv[1], 9000 + int(sys.argv[2])))
print(s.recvfrom(100)[0].decode())
' "$out" "$family") || fail "UDP over IPv$family got no answer"
  [[ $seen == "$egress" ]] || fail "UDP over IPv$family: the outside host saw $seen"
  pass "UDP over IPv$family: the outside host saw only $egress, and its answer came back"
done
