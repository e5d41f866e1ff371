#!/usr/bin/env bash
# An exit node on two workers ([host] workers = 2): the stock pipeline (tunnel -> policy -> shaper
# -> stats -> nat -> egress in shared mode) with two wireguard-go clients, laptop ($C) and phone ($C2),
# whose keys give each a worker of its own (a peer's worker is named by its public key):
#   1. both reach the outside host from the egress address over IPv4 and IPv6, and the ports it
#      sees are each client's worker's share of the NAT's 40000-40999 (laptop 40000-40499, phone
#      40500-40999);
#   2. a checked download to each at once and an upload from phone (through its worker's own device
#      for trains): both workers carried traffic, and the kernel steered the answers to the worker
#      holding their port, so the packets a NAT had to hand to the other worker are few beside those
#      it translated in;
#   3. /v1/stats gathers both workers' counts (each client's bytes), the NAT log, written by the
#      first worker, has both clients' sessions, and a capture and a trace see both clients;
#   4. after SIGTERM nothing of Waygate's is left: no nftables table, the ephemeral range as it was;
#   5. the egress edge in kernel mode on two workers (no nat stage: the kernel masquerades), a queue
#      of its device each: both clients' downloads arrive intact, and the kernel answers each flow
#      on the queue of the worker that wrote it, its client's, so the tunnel hands over few.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }

three_hosts 6
second_client 6
C2=$D
ADMIN=127.0.0.1:$(free_port)
range_before=$(ip netns exec "$S" cat /proc/sys/net/ipv4/ip_local_port_range)
wg_key server
# worker_of NAME: the worker (of two) owning NAME's peer: its key's first byte, mod 2.
worker_of() { python3 -c 'import base64, sys; print(base64.b64decode(open(sys.argv[1]).read())[0] % 2)' "$WORK/$1.pub"; }
until wg_key client && [[ $(worker_of client) == 0 ]]; do :; done
until wg_key phone && [[ $(worker_of phone) == 1 ]]; do :; done
exit_connector 6 "admin = \"$ADMIN\"
workers = 2" "[[identity]]
name = \"phone\"
public_key = \"$(cat "$WORK/phone.pub")\"" "log = \"$WORK/nat.log\"" '[[stage]]
name = "shaper"
plugin = "shaper"
[[stage]]
name = "stats"
plugin = "stats"' >"$WORK/connector.toml"
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"

exit_client 6                                               # laptop: 10.60.0.2, worker 0
exit_peer "$C2" phone 10.63.0.1 10.60.0.3 fd60::3           # phone: 10.60.0.3, worker 1

# metric REGEX: the sum of the series whose name and labels match.
metric() {
  ip netns exec "$S" curl -sS --noproxy '*' "http://$ADMIN/metrics" >"$WORK/metrics.txt"
  awk -v re="$1" '$0 !~ /^#/ && $1 ~ re {sum += $2} END {printf "%.0f\n", sum}' "$WORK/metrics.txt"
}
# downloads WHAT: both clients fetch the outside host's blob at once, each checked; the CPU both
# workers used meanwhile in $used0 and $used1, at least 3 ticks each.
downloads() {
  local before0 before1 laptop phone name
  before0=$(cpu_ticks "worker 0")
  before1=$(cpu_ticks "worker 1")
  ip netns exec "$C" curl -sS --noproxy '*' -f -o "$WORK/laptop.blob" http://10.62.0.2:8084/blob &
  laptop=$!
  ip netns exec "$C2" curl -sS --noproxy '*' -f -o "$WORK/phone.blob" http://10.62.0.2:8084/blob &
  phone=$!
  wait "$laptop" || fail "laptop's download $1 failed"
  wait "$phone" || fail "phone's download $1 failed"
  for name in laptop phone; do cmp -s "$WORK/blob" "$WORK/$name.blob" || fail "$name's download $1 differs"; done
  used0=$(($(cpu_ticks "worker 0") - before0))
  used1=$(($(cpu_ticks "worker 1") - before1))
  ((used0 >= 3 && used1 >= 3)) || fail "a worker sat idle $1: worker 0 used $used0 ticks, worker 1 $used1"
}

echo "== 1. each client from its worker's share of the ports"
udp_echo "$O" 10.62.0.2 9004
for who in "laptop $C 40000 40499" "phone $C2 40500 40999"; do
  read -r name ns low high <<<"$who"
  ip netns exec "$ns" ping -c 2 -i 0.2 -W 3 10.62.0.2 >/dev/null || fail "$name: no ping over IPv4"
  ip netns exec "$ns" ping -6 -c 2 -i 0.2 -W 3 fd62::2 >/dev/null || fail "$name: no ping over IPv6"
  read -r address port <<<"$(udp_whoami "$ns" 10.62.0.2 9004)" || fail "$name: the UDP echo did not answer"
  [[ $address == 10.62.0.1 ]] || fail "$name: the outside host saw $address"
  ((port >= low && port <= high)) || fail "$name (worker $(worker_of "${name/laptop/client}")) left from port $port, not $low-$high"
  pass "$name reaches the outside host over IPv4 and IPv6, from 10.62.0.1 port $port ($low-$high)"
done

echo "== 2. both workers at once, steered"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$WORK/blob"
(cd "$WORK" && exec ip netns exec "$O" python3 -m http.server 8084 --bind 10.62.0.2 >/dev/null 2>&1) &
PIDS+=($!)
wait_for 5 listening "$O" 8084
downloads "through the NAT"
pass "an 8 MiB download to each client at once, each identical; the workers used $used0 and $used1 ticks"

want=$(sha256sum <"$WORK/blob" | cut -d' ' -f1)
tcp_bulk "$O" receive "listen=10.62.0.2" "$WORK/blob" >"$WORK/up.sha" &
receiver=$!
wait_for 5 listening "$O" 9100
tcp_bulk "$C2" send 10.62.0.2 "$WORK/blob" || fail "phone's upload did not go through"
wait "$receiver" || fail "the outside host got no upload"
[[ $(cat "$WORK/up.sha") == "$want" ]] || fail "phone's upload arrived changed"
pass "an 8 MiB upload from phone arrived intact"

inbound=$(metric '^waygate_nat_translations_total\{.*direction="inbound"')
handed=$(metric '^waygate_nat_handed_over_total')
((inbound > 2000)) || fail "the NAT translated only ${inbound:-0} packets in"
((${handed:-0} * 20 <= inbound)) || fail "$handed of $inbound inbound packets were handed to the other worker"
drops=$(grep -E '^waygate_drops_total\{stage="(nat|egress)"' "$WORK/metrics.txt" | awk '$2 != 0') || true
[[ -z $drops ]] || fail "the NAT or the egress edge dropped: $drops"
pass "steering: the NATs handed ${handed:-0} packets to the other worker of $inbound translated in; nothing dropped"

echo "== 3. gathered"
ip netns exec "$S" curl -sS --noproxy '*' -f "http://$ADMIN/v1/stats" >"$WORK/stats.json" || fail "GET /v1/stats"
python3 - "$WORK/stats.json" <<'PY' || fail "/v1/stats: $(cat "$WORK/stats.json")"
import json, sys
body = json.load(open(sys.argv[1]))
ids = {i["name"]: i for i in body["identities"]}
for name in ("laptop", "phone"):
    assert ids[name]["bytes"]["inbound"] >= 8 * 1024 * 1024, (name, ids[name])
    assert ids[name]["socket"] == "exit", (name, ids[name])
exit_node = next(s for s in body["sockets"] if s["name"] == "exit")
assert exit_node["clients"] == 2, exit_node
assert exit_node["bytes"]["outbound"] >= 8 * 1024 * 1024, exit_node
PY
pass "/v1/stats sums both workers: each client's download, the exit node's two clients"
for inside in 10.60.0.2 10.60.0.3; do
  grep -q "\"inside\":\"$inside:" "$WORK/nat.log" || fail "the NAT log has no session of $inside: $(head -3 "$WORK/nat.log")"
done
pass "the NAT log has both workers' sessions ($(wc -l <"$WORK/nat.log") lines)"
# A capture and a trace watch both workers' packets, and stop at their count however many held some.
both_ping() {
  ip netns exec "$C" ping -c 6 -i 0.2 -W 2 10.62.0.2 >/dev/null &
  ip netns exec "$C2" ping -c 6 -i 0.2 -W 2 10.62.0.2 >/dev/null
  wait $!
}
ip netns exec "$S" "$WAYGATE" capture -c "$WORK/connector.toml" --count 12 -w "$WORK/both.pcapng" icmp 2>"$WORK/capture.err" &
capture=$!
sleep 0.5
both_ping
wait "$capture" || fail "waygate capture: $(cat "$WORK/capture.err")"
lines=$(tcpdump -nn -r "$WORK/both.pcapng" 2>/dev/null)
[[ $(wc -l <<<"$lines") -eq 12 ]] || fail "the capture holds $(wc -l <<<"$lines") packets, not its count of 12: $lines"
[[ $lines == *"10.60.0.2 > 10.62.0.2"* && $lines == *"10.60.0.3 > 10.62.0.2"* ]] || fail "the capture misses a worker's client: $lines"
[[ $(cat "$WORK/capture.err") == *"12 packet(s) captured"* ]] || fail "capture's summary: $(cat "$WORK/capture.err")"
ip netns exec "$S" "$WAYGATE" trace -c "$WORK/connector.toml" --count 6 icmp >"$WORK/trace.out" 2>"$WORK/trace.err" &
trace=$!
sleep 0.5
both_ping
wait "$trace" || fail "waygate trace: $(cat "$WORK/trace.err")"
grep -q "10.60.0.2" "$WORK/trace.out" && grep -q "10.60.0.3" "$WORK/trace.out" || fail "the trace misses a worker's client: $(cat "$WORK/trace.out")"
[[ $(cat "$WORK/trace.err") == *"6 packet(s) traced"* ]] || fail "trace's summary: $(cat "$WORK/trace.err")"
pass "waygate capture and waygate trace see both workers' clients, and stop at their count (12 and 6)"

echo "== 4. stopped"
stop_waygate
tables=$(ip netns exec "$S" nft list tables)
[[ $tables != *waygate* ]] || fail "after stop, nftables still has: $tables"
range=$(ip netns exec "$S" cat /proc/sys/net/ipv4/ip_local_port_range)
[[ $range == "$range_before" ]] || fail "after stop the ephemeral range is '$range', was '$range_before'"
pass "after SIGTERM: no waygate table, the ephemeral range back to ${range_before/$'\t'/-}"

echo "== 5. kernel mode, a queue each"
python3 - "$WORK/connector.toml" "$RUN_ID" >"$WORK/kernel.toml" <<'PY'
import sys
text, run = open(sys.argv[1]).read(), sys.argv[2]
nat = text.index('[[stage]]\nname = "nat"')
egress = text.index('[[stage]]\nname = "egress"')
print(text[:nat] + text[egress:] + f'mode = "kernel"\ndevice = "wk{run}"\nroutes = ["10.60.0.0/24", "fd60::/64"]')
PY
start_waygate "$WORK/kernel.toml" "$WORK/kernel.log" "$S"
# The clients' sessions were the last process's: each client's peer made anew handshakes at once.
for client in "$C gc$RUN_ID" "$C2 gphone$RUN_ID"; do
  read -r ns iface <<<"$client"
  ip netns exec "$ns" wg set "$iface" peer "$(cat "$WORK/server.pub")" remove
  endpoint=$([[ $ns == "$C" ]] && echo 10.61.0.1 || echo 10.63.0.1)
  ip netns exec "$ns" wg set "$iface" peer "$(cat "$WORK/server.pub")" endpoint "$endpoint:51820" allowed-ips 0.0.0.0/0,::/0
done
for ns in "$C" "$C2"; do
  wait_for 10 ip netns exec "$ns" ping -c 1 -W 1 10.62.0.2 || fail "no ping through kernel mode from $ns"
done
downloads "through kernel mode"
received=$(metric '^waygate_egress_rx_packets_total')
handed=$(metric '^waygate_wireguard_handed_over_total')
((received > 2000)) || fail "the egress edge took in only $received packets"
((handed * 20 <= received)) || fail "$handed of the $received packets from the device were handed to the other worker"
pass "kernel mode: an 8 MiB download to each at once, intact; workers used $used0 and $used1 ticks; $handed of $received handed over"
stop_waygate
links=$(ip -n "$S" -o link show)
[[ $links != *"wk$RUN_ID"* ]] || fail "after stop, the device is still there"
[[ $(ip netns exec "$S" nft list tables) != *waygate* ]] || fail "after stop, a waygate table is left"
pass "after SIGTERM: the device and the table gone"
