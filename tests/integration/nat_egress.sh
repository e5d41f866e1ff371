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
[[socket]]
name = "exit"
type = "exit_node"
egress = ["10.62.0.9", "fd62::9"]
egress_ports = "30000-30999"
$(tunnel_stage 6)
[[stage]]
name = "nat"
plugin = "nat"
block_size = 64
max_sessions = 10000
[[stage]]
name = "egress"
plugin = "tun"
netns = "$S"
device = "we$RUN_ID"
TOML
start_waygate "$WORK/connector.toml" "$WORK/connector.log"
ip -n "$S" route add 10.62.0.9/32 dev "we$RUN_ID"
ip -n "$S" route add fd62::9/128 dev "we$RUN_ID"

exit_client 6
for family in 4 6; do
  exit_traffic 6 "$family" "$([[ $family == 4 ]] && echo 10.62.0.9 || echo fd62::9)"
done
