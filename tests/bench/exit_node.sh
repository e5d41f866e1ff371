# The connector's exit node as the benchmarks run it (configs/exit-node.toml's pipeline), one text
# for suite.sh and fleet.sh. Sourced after tests/integration/lib.sh ($WORK, $RUN_ID).
# exit_node_tables OUTSIDE EGRESS SHAPER: prints the socket, its policy and the stages. OUTSIDE:
# the outside host's network, granted because it is private, not the internet; EGRESS: the
# connector's address on it; SHAPER: the shaper stage's tables, or "" for none. The tunnel's key
# is $WORK/server.key; traffic leaves by vt$RUN_ID.
exit_node_tables() {
  cat <<TOML
[[socket]]
name = "corporate-exit"
type = "exit_node"
egress = ["$2"]
egress_ports = "40000-49999"
allow = ["$1"]
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
address = ["10.80.0.1/24"]
take = ["10.80.0.1/32"]
[[stage]]
name = "policy"
plugin = "policy"
$3
[[stage]]
name = "stats"
plugin = "stats"
[[stage]]
name = "nat"
plugin = "nat"
block_size = 256
[[stage]]
name = "egress"
plugin = "egress"
interface = "vt$RUN_ID"
TOML
}

# CONNECTOR_NICE: the connector's packet path as configs/exit-node.toml puts it ([host] nice), ahead
# of the clients, iperf3 and the outside host that share the cores. A peer's connector gets the
# same (connector_nice PID: every thread of it; threads it makes later inherit it), so that every
# row's connector stands as far ahead of the rest.
CONNECTOR_NICE=-10
connector_nice() {
  local t
  for t in /proc/"$1"/task/*; do renice -n "$CONNECTOR_NICE" -p "${t##*/}" >/dev/null; done
}
