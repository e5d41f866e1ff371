#!/usr/bin/env bash
# kill -9 of the connector, then a restart: the client recovers by itself (its next handshake),
# the restarted connector replaces the nftables table the dead one left (one table, not two), and
# the NAT log is intact up to its last line: every line whole JSON, none lost before the kill.
# What the dead run changed on the system (the kernel's ephemeral ports) is put back by the
# restarted one's clean stop to what it was before the first start, not to what the dead run
# left; GRO on the egress link is never touched.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
command -v ethtool >/dev/null || { echo "SKIP: ethtool not installed"; exit 77; }

three_hosts 3
ip netns exec "$S" ethtool -K "vt$RUN_ID" gro on >/dev/null
gro() { ip netns exec "$S" ethtool -k "vt$RUN_ID" | awk '$1 == "generic-receive-offload:" {print $2}'; }
ports() { ip netns exec "$S" cat /proc/sys/net/ipv4/ip_local_port_range; }
range_before=$(ports)
wg_key server
wg_key client
exit_connector 3 'admin = ""
state_dir = "state"' "" "log = \"$WORK/nat.log\"" >"$WORK/connector.toml"
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"

exit_client 3  # laptop's pool addresses are 10.30.0.2 and fd30::2, as exit_client sets them
for port in 5001 5002 5003; do  # three UDP sessions: three start lines in the NAT log
  ip netns exec "$C" python3 -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.32.0.2", int(sys.argv[1])))' "$port"
done
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.32.0.2 >/dev/null || fail "no traffic before the crash"
four_starts() { (($(grep -c '"event":"start"' "$WORK/nat.log") >= 4)); }
wait_for 5 four_starts || fail "NAT log before the crash: $(cat "$WORK/nat.log")"
before=$(wc -l <"$WORK/nat.log")

kill -9 "$WAYGATE_PID"
wait "$WAYGATE_PID" 2>/dev/null || true
tables=$(ip netns exec "$S" nft list tables)
[[ $tables == *"table inet waygate_egress"* ]] || fail "expected the dead connector's table to be left: $tables"
python3 - "$WORK/nat.log" <<'PY' || fail "the NAT log is not whole after kill -9: $(tail -c 300 "$WORK/nat.log")"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "the last line is cut"
for line in lines[:-1]:
    json.loads(line)
PY
pass "after kill -9: the table is left behind (named for Waygate), and all $before NAT log lines are whole"
range_left=$(ports)
[[ $range_left != "$range_before" && $(gro) == on ]] || fail "expected the dead run's ports to stay and GRO untouched: ports $range_left, GRO $(gro)"

start_waygate "$WORK/connector.toml" "$WORK/connector2.log" "$S"
[[ $(ip netns exec "$S" nft list tables | grep -c waygate) == 1 ]] || fail "tables after the restart: $(ip netns exec "$S" nft list tables)"
# The client still holds the old session; after its keepalive and rekey timeouts (~15 s) it
# handshakes again, and traffic flows.
wait_for 40 ip netns exec "$C" ping -c 1 -W 1 10.32.0.2 || fail "the client did not recover after the restart"
# Its lines are written through the loop, a moment after the packet that made them.
appended() { (($(wc -l <"$WORK/nat.log") > before)); }
wait_for 5 appended || fail "the restarted connector does not append to the NAT log"
pass "restarted: one table (the old one replaced), the client recovered by itself, the NAT log goes on"
grep -q "left the kernel's ephemeral ports at" "$WORK/connector2.log" || fail "the restart did not find the recorded originals"

stop_waygate
[[ $(ip netns exec "$S" nft list tables) != *waygate* ]] || fail "a table is left after a clean stop"
[[ $(ports) == "$range_before" ]] || fail "ephemeral ports after the clean stop: '$(ports)', before the first start: '$range_before'"
[[ $(gro) == on ]] || fail "GRO is $(gro) after the clean stop; it was on before the first start"
pass "a clean stop leaves no table, and puts back the ephemeral ports ($range_before, not the dead run's $range_left); GRO stayed on"
