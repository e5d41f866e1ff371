#!/usr/bin/env bash
# The egress edge in shared mode: the connector's own address on the outside link (10.72.0.1,
# fd72::1) is the exit node's egress address, shared with the connector's kernel.
#   client (wireguard-go) --udp-- connector [wireguard -> nat -> egress] --- outside host
# A client's TCP, UDP and ICMP reach the outside host over IPv4 and IPv6 and it sees only the
# connector's address; meanwhile the connector's kernel keeps using that address from its own
# ephemeral ports, moved off the NAT's range. After SIGTERM, nothing of Waygate's is left: no
# nftables table, the ephemeral range as it was.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }

command -v ethtool >/dev/null || { echo "SKIP: ethtool not installed"; exit 77; }

three_hosts 7
ADMIN=127.0.0.1:$(free_port)
# The outside host's link behaves as a wire does: a veth would otherwise hand the connector its
# sender's unsegmented TCP (TSO/GSO), which no NIC delivers. What a NIC does merge, GRO, the edge
# takes as it comes and cuts: on here, as a card's driver has it, and left alone.
ip netns exec "$O" ethtool -K "vo$RUN_ID" tso off gso off >/dev/null
ip netns exec "$S" ethtool -K "vt$RUN_ID" gro on >/dev/null
gro() { ip netns exec "$S" ethtool -k "vt$RUN_ID" | awk '$1 == "generic-receive-offload:" {print $2}'; }
range_before=$(ip netns exec "$S" cat /proc/sys/net/ipv4/ip_local_port_range)

wg_key server
wg_key client
cat >"$WORK/connector.toml" <<TOML
[host]
admin = "$ADMIN"
[[socket]]
name = "exit"
type = "exit_node"
egress = ["10.72.0.1", "fd72::1"]
egress_ports = "40000-40999"
$(tunnel_stage 7)
[[stage]]
name = "nat"
plugin = "nat"
block_size = 64
max_sessions = 10000
[[stage]]
name = "egress"
plugin = "egress"
netns = "$S"
interface = "vt$RUN_ID"
TOML
start_waygate "$WORK/connector.toml" "$WORK/connector.log"

tables=$(ip netns exec "$S" nft list tables)
[[ $tables == *"table inet waygate_egress"* ]] || fail "no waygate_egress table while running: $tables"
range=$(ip netns exec "$S" cat /proc/sys/net/ipv4/ip_local_port_range)
[[ $range == $'41000\t60999' ]] || fail "ephemeral range while running is '$range' (was '$range_before')"
[[ $(gro) == on ]] || fail "GRO on vt$RUN_ID is $(gro) while running"
pass "running: table inet waygate_egress installed, the kernel's ephemeral ports moved to $range, GRO left on"

exit_client 7
for family in 4 6; do
  exit_traffic 7 "$family" "$([[ $family == 4 ]] && echo 10.72.0.1 || echo fd72::1)"
done

# A bulk download each way: many full-size segments from the outside host, through the filter,
# checksum completion and the NAT.
head -c 4000000 /dev/urandom >"$WORK/bulk.bin"
for url in "http://10.72.0.2:8084/bulk.bin" "http://[fd72::2]:8086/bulk.bin"; do
  ip netns exec "$C" curl -sS -g --noproxy '*' -f -o "$WORK/got.bin" "$url" 2>"$WORK/curl.log" || fail "download $url: $(cat "$WORK/curl.log")"
  cmp -s "$WORK/bulk.bin" "$WORK/got.bin" || fail "download $url arrived damaged"
done
pass "4 MB downloads over IPv4 and IPv6 arrive intact"

# A bulk upload each way: the client's segments leave glued into trains through the edge's device,
# for IPv6 too where the kernel forwards it from one device alone (force_forwarding, Linux 6.17).
glued() { curl -sS --noproxy '*' "http://$ADMIN/metrics" | awk '$1 ~ /^waygate_egress_glued_writes_total/ {print $2}'; }
v6_trains=$([[ -e /proc/sys/net/ipv6/conf/lo/force_forwarding ]] && echo yes || echo no)
want=$(sha256sum <"$WORK/bulk.bin" | cut -d' ' -f1)
for out in 10.72.0.2 fd72::2; do
  before=$(glued)
  tcp_bulk "$O" receive "listen=$out" "$WORK/bulk.bin" >"$WORK/up.sha" &
  receiver=$!
  wait_for 5 listening "$O" 9100
  tcp_bulk "$C" send "$out" "$WORK/bulk.bin" || fail "the upload to $out did not go through"
  wait "$receiver" || fail "$out got no upload"
  [[ $(cat "$WORK/up.sha") == "$want" ]] || fail "the upload to $out arrived changed"
  trains=$(($(glued) - before))
  if [[ $out == *:* && $v6_trains == no ]]; then
    ((trains == 0)) || fail "IPv6 went in $trains trains on a kernel that would not forward them"
  else
    ((trains > 0)) || fail "the upload to $out went segment by segment (no glued writes)"
  fi
  pass "4 MB upload to $out arrived intact, in $trains glued writes"
done

# A UDP upload each way, datagrams of one size in bursts as QUIC sends them: where the kernel takes
# UDP trains (USO, Linux 6.2) they leave glued too, and every one arrives as it was sent.
for out in 10.72.0.2 fd72::2; do
  before=$(glued)
  udp_datagrams "$O" receive "$out" 9200 >"$WORK/udp.count" &
  receiver=$!
  wait_for 5 eval '[[ -n $(ip netns exec "$O" ss -Huln "sport = :9200") ]]'
  udp_datagrams "$C" send "$out" 9200 || fail "the UDP upload to $out could not be sent"
  wait "$receiver" || fail "$out received no UDP upload"
  read -r good bad <"$WORK/udp.count"
  ((bad == 0)) || fail "$bad datagrams of the UDP upload to $out arrived changed"
  ((good >= 2700)) || fail "only $good of 3000 datagrams of the UDP upload to $out arrived"
  trains=$(($(glued) - before))
  if ! kernel_takes_udp_trains || [[ $out == *:* && $v6_trains == no ]]; then
    ((trains == 0)) || fail "the UDP upload to $out went in $trains trains where the kernel takes none"
  else
    ((trains > 0)) || fail "the UDP upload to $out went datagram by datagram (no glued writes)"
  fi
  pass "UDP upload to $out: $good of 3000 datagrams arrived, none changed, in $trains glued writes"
done

# The kernel's own traffic on the shared address, from its own ports, alongside the NAT's.
for family in 4 6; do
  out=$([[ $family == 4 ]] && echo 10.72.0.2 || echo fd72::2)
  url=$([[ $family == 4 ]] && echo "http://10.72.0.2:8084/" || echo "http://[fd72::2]:8086/")
  ip netns exec "$S" curl -sS -g --noproxy '*' -f -o /dev/null "$url" 2>"$WORK/curl.log" ||
    fail "the connector's own HTTP over IPv$family: $(cat "$WORK/curl.log")"
  ip netns exec "$S" ping "-$family" -c 2 -i 0.2 -W 3 "$out" >/dev/null || fail "the connector's own ping over IPv$family"
done
pass "the connector's kernel still talks from the shared address (TCP and ICMP, IPv4 and IPv6)"

metrics=$(curl -sS --noproxy '*' "http://$ADMIN/metrics")
# merged_received_total: GRO merged the downloads' segments, and the edge cut them apart again.
for counter in rx_packets_total tx_packets_total merged_received_total; do
  value=$(awk -v m="waygate_egress_$counter{stage=\"egress\"}" '$1 == m {print $2}' <<<"$metrics")
  [[ ${value:-0} -gt 0 ]] || fail "egress $counter is '${value:-}'"
done
drops=$(grep '^waygate_drops_total{stage="egress"' <<<"$metrics" | awk '$2 != 0') || true
[[ -z $drops ]] || fail "the egress edge dropped: $drops"
pass "the edge counted what it sent and took in (merged packets cut apart among them), and dropped nothing"

stop_waygate
tables=$(ip netns exec "$S" nft list tables)
[[ $tables != *waygate* ]] || fail "after stop, nftables still has: $tables"
range=$(ip netns exec "$S" cat /proc/sys/net/ipv4/ip_local_port_range)
[[ $range == "$range_before" ]] || fail "after stop the ephemeral range is '$range', was '$range_before'"
[[ $(gro) == on ]] || fail "after stop GRO on vt$RUN_ID is $(gro)"
pass "after SIGTERM: no waygate table, ephemeral range back to ${range_before/$'\t'/-}, GRO as it was"
