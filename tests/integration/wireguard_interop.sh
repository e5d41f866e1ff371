#!/usr/bin/env bash
# Waygate's wireguard edge against Debian's wireguard-go, both ways, across two namespaces joined
# by a veth pair (the "internet" between client and connector):
#   1. wireguard-go client -> Waygate server, with a preshared key: ping, a checked TCP download
#      and UDP, each over IPv4 and IPv6; then the client roams to another source port and traffic
#      goes on.
#   2. Waygate client -> wireguard-go server: ping both ways, and a rekey: with the protocol's
#      timers divided by 20 the session renews every 6 s, and a 15 s ping loses nothing.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }

C=$(new_ns c)
S=$(new_ns s)
ip link add "vc$RUN_ID" netns "$C" type veth peer name "vs$RUN_ID" netns "$S"
ip -n "$C" addr add 10.81.0.2/24 dev "vc$RUN_ID"
ip -n "$S" addr add 10.81.0.1/24 dev "vs$RUN_ID"
ip -n "$C" link set "vc$RUN_ID" up
ip -n "$S" link set "vs$RUN_ID" up

wg_key server
wg_key client
wg_key go
(umask 077 && "$WAYGATE" genpsk >"$WORK/psk")

metric() {  # PORT NAME
  curl -sf --noproxy '*' "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'
}

echo "== 1. wireguard-go client, Waygate server"
PORT=$(free_port)
cat >"$WORK/server.toml" <<TOML
[host]
admin = "127.0.0.1:$PORT"
[[stage]]
name = "tunnel"
plugin = "wireguard"
netns = "$S"
listen_port = 51820
private_key_file = "$WORK/server.key"
[[stage.peer]]
name = "laptop"
public_key = "$(cat "$WORK/client.pub")"
preshared_key_file = "$WORK/psk"
allowed_ips = ["10.80.0.2/32", "fd80::2/128"]
[[stage]]
name = "host"
plugin = "tun"
netns = "$S"
device = "ws$RUN_ID"
address = ["10.80.0.1/24", "fd80::1/64"]
TOML
start_waygate "$WORK/server.toml" "$WORK/server.log"

GC="gc$RUN_ID"
wireguard_go "$C" "$GC"
ip netns exec "$C" wg set "$GC" private-key "$WORK/client.key" listen-port 40001 \
  peer "$(cat "$WORK/server.pub")" preshared-key "$WORK/psk" endpoint 10.81.0.1:51820 \
  allowed-ips 10.80.0.0/24,fd80::/64
ip -n "$C" addr add 10.80.0.2/24 dev "$GC"
ip -n "$C" addr add fd80::2/64 dev "$GC"
ip -n "$C" link set "$GC" up mtu 1420

ip netns exec "$C" ping -c 3 -i 0.2 -W 3 10.80.0.1 >/dev/null || fail "IPv4 ping through the tunnel"
pass "IPv4 ping, wireguard-go -> waygate"
wait_for 10 ip netns exec "$C" ping -c 1 -W 1 fd80::1 || fail "IPv6 ping through the tunnel"
pass "IPv6 ping"

head -c $((8 * 1024 * 1024)) /dev/urandom >"$WORK/blob"
for family in 4 6; do
  address=$([[ $family == 4 ]] && echo 10.80.0.1 || echo fd80::1)
  url=$([[ $family == 4 ]] && echo "http://10.80.0.1:808$family/blob" || echo "http://[fd80::1]:808$family/blob")
  (cd "$WORK" && exec ip netns exec "$S" python3 -m http.server "808$family" --bind "$address" >/dev/null 2>&1) &
  PIDS+=($!)
  wait_for 5 listening "$S" "808$family"
  rm -f "$WORK/fetched"
  ip netns exec "$C" curl -sS -g --noproxy '*' -f -o "$WORK/fetched" "$url" || fail "TCP download over IPv$family"
  cmp -s "$WORK/blob" "$WORK/fetched" || fail "downloaded bytes differ over IPv$family"
  pass "TCP over IPv$family: 8 MiB download, identical"

  ip netns exec "$S" iperf3 -s -1 -B "$address" -p "520$family" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_for 5 listening "$S" "520$family"
  ip netns exec "$C" iperf3 "-$family" -u -b 20M -t 2 -c "$address" -p "520$family" -J >"$WORK/udp.json" ||
    fail "UDP over IPv$family"
  read -r packets lost < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["end"]["sum"]; print(s["packets"], s["lost_packets"])' "$WORK/udp.json")
  ((packets > 1000 && lost * 100 <= packets)) || fail "UDP over IPv$family: $lost of $packets lost"
  pass "UDP over IPv$family: $packets datagrams, $lost lost"
done

ip netns exec "$C" wg set "$GC" listen-port 40002
ip netns exec "$C" ping -c 3 -i 0.2 -W 3 10.80.0.1 >/dev/null || fail "ping after the client moved to port 40002"
pass "roaming: the client moved to another source port and traffic goes on"

[[ $(metric "$PORT" 'waygate_wireguard_peer_handshakes_total{stage="tunnel",peer="laptop"}') -ge 1 ]] ||
  fail "no handshake counted"
rx=$(metric "$PORT" 'waygate_wireguard_peer_rx_bytes_total{stage="tunnel",peer="laptop"}')
((rx > 8 * 1024 * 1024 / 50)) || fail "peer counters did not move ($rx)"
pass "per-peer counters moved ($rx inner bytes received)"

echo "== 2. Waygate client, wireguard-go server"
GS="gs$RUN_ID"
wireguard_go "$S" "$GS"
ip netns exec "$S" wg set "$GS" private-key "$WORK/go.key" listen-port 51821 \
  peer "$(cat "$WORK/client.pub")" allowed-ips 10.82.0.2/32,fd82::2/128
ip -n "$S" addr add 10.82.0.1/24 dev "$GS"
ip -n "$S" addr add fd82::1/64 dev "$GS"
ip -n "$S" link set "$GS" up mtu 1420

CPORT=$(free_port)
cat >"$WORK/client.toml" <<TOML
[host]
admin = "127.0.0.1:$CPORT"
[[stage]]
name = "local"
plugin = "tun"
netns = "$C"
device = "wc$RUN_ID"
address = ["10.82.0.2/24", "fd82::2/64"]
[[stage]]
name = "tunnel"
plugin = "wireguard"
netns = "$C"
private_key_file = "$WORK/client.key"
timer_divisor = 20
[[stage.peer]]
name = "server"
public_key = "$(cat "$WORK/go.pub")"
endpoint = "10.81.0.1:51821"
allowed_ips = ["10.82.0.0/24", "fd82::/64"]
TOML
start_waygate "$WORK/client.toml" "$WORK/client.log"

ip netns exec "$C" ping -c 3 -i 0.2 -W 3 10.82.0.1 >/dev/null || fail "IPv4 ping, waygate -> wireguard-go"
pass "IPv4 ping, waygate -> wireguard-go"
wait_for 10 ip netns exec "$C" ping -c 1 -W 1 fd82::1 || fail "IPv6 ping, waygate -> wireguard-go"
pass "IPv6 ping"
ip netns exec "$S" ping -c 3 -i 0.2 -W 3 10.82.0.2 >/dev/null || fail "ping from the server side back"
pass "the server reaches the client through the session"

ip netns exec "$C" ping -c 75 -i 0.2 -W 2 10.82.0.1 >"$WORK/long-ping.txt" || true
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/long-ping.txt")
handshakes=$(metric "$CPORT" 'waygate_wireguard_handshakes_total{stage="tunnel"}')
((handshakes >= 3)) || fail "only $handshakes handshakes in 15 s with rekey every 6 s"
((received >= 74)) || fail "rekeying lost pings: $received of 75"
pass "rekey: $handshakes handshakes, $received of 75 pings answered"
