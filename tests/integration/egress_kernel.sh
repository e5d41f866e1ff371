#!/usr/bin/env bash
# The egress edge in kernel mode: no nat stage; the edge hands client packets to a TUN device, the
# connector's kernel forwards them out of the outside link masqueraded (nftables, in a table of the
# edge's own) and routes the answers back into the device by the client prefixes.
#   client (wireguard-go) --udp-- connector [wireguard -> egress (kernel)] --- outside host
# A client's TCP, UDP and ICMP reach the outside host over IPv4 and IPv6 and it sees only the
# connector's address. After SIGTERM: no table, forwarding as it was, no device.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }

three_hosts 8
# Off, as on a host that never forwarded: the edge turns it on and must put it back.
ip netns exec "$S" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
forwarding() { ip netns exec "$S" cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | tr '\n' ' '; }

wg_key server
wg_key client
cat >"$WORK/connector.toml" <<TOML
[host]
admin = ""
$(tunnel_stage 8)
[[stage]]
name = "egress"
plugin = "egress"
mode = "kernel"
netns = "$S"
interface = "vt$RUN_ID"
device = "wk$RUN_ID"
routes = ["10.80.0.0/24", "fd80::/64"]
TOML
start_waygate "$WORK/connector.toml" "$WORK/connector.log"

tables=$(ip netns exec "$S" nft list table inet waygate_egress 2>&1) || fail "no waygate_egress table: $tables"
[[ $tables == *"oifname \"vt$RUN_ID\" masquerade"* ]] || fail "no masquerade rule: $tables"
[[ $(forwarding) == "1 1 " ]] || fail "forwarding while running: $(forwarding)"
routes=$(ip -n "$S" route show dev "wk$RUN_ID"; ip -n "$S" -6 route show dev "wk$RUN_ID")
[[ $routes == *10.80.0.0/24* && $routes == *fd80::/64* ]] || fail "routes via the device: $routes"
pass "running: masquerade on vt$RUN_ID, forwarding on, client prefixes routed to wk$RUN_ID"

exit_client 8
for family in 4 6; do
  exit_traffic 8 "$family" "$([[ $family == 4 ]] && echo 10.82.0.1 || echo fd82::1)"
done

stop_waygate
tables=$(ip netns exec "$S" nft list tables)
[[ $tables != *waygate* ]] || fail "after stop, nftables still has: $tables"
[[ $(forwarding) == "0 0 " ]] || fail "after stop, forwarding is $(forwarding)"
links=$(ip -n "$S" -o link show)
[[ $links != *"wk$RUN_ID"* ]] || fail "after stop, the device is still there"
pass "after SIGTERM: no waygate table, forwarding off again, device and its routes gone"
