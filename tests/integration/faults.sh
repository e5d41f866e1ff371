#!/usr/bin/env bash
# Faults around a running exit node with two wireguard-go clients, laptop ($C) and phone ($C2):
#   1. laptop vanishes in the middle of an upload (its wireguard-go killed, its link down): its NAT
#      sessions expire by their timeouts (ended in the NAT log, its port block released) while
#      phone's traffic goes on, before, during and after;
#   2. the outside host vanishes (its addresses gone, nobody answers ARP) and comes back: the
#      connector keeps running and phone's traffic resumes by itself, old flows and new;
#   3. the egress link goes down and comes back up: traffic over IPv4 and IPv6 resumes by itself.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
command -v iperf3 >/dev/null || { echo "SKIP: iperf3 not installed"; exit 77; }

three_hosts 2
second_client 2
C2=$D
# A server's configured IPv6 addresses stay on a link that goes down (networkd or ifupdown put
# them back; here the kernel keeps them).
ip netns exec "$S" sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1 "net.ipv6.conf.vt$RUN_ID.keep_addr_on_down=1"
ADMIN=127.0.0.1:$(free_port)
wg_key server
wg_key client
wg_key phone
exit_connector 2 "admin = \"$ADMIN\"" "[[identity]]
name = \"phone\"
public_key = \"$(cat "$WORK/phone.pub")\"" "log = \"$WORK/nat.log\"
tcp_established = \"8s\"
tcp_transitory = \"3s\"
udp = \"3s\"
icmp = \"3s\"" >"$WORK/connector.toml"
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"

exit_client 2  # laptop: 10.20.0.2
GO_PID_LAPTOP=$GO_PID
wireguard_go "$C2" "gd$RUN_ID"
ip netns exec "$C2" wg set "gd$RUN_ID" private-key "$WORK/phone.key" \
  peer "$(cat "$WORK/server.pub")" endpoint 10.23.0.1:51820 allowed-ips 0.0.0.0/0,::/0
ip -n "$C2" addr add 10.20.0.3/32 dev "gd$RUN_ID"
ip -n "$C2" addr add fd20::3/128 dev "gd$RUN_ID" nodad
ip -n "$C2" link set "gd$RUN_ID" up mtu 1420
for prefix in 0.0.0.0/1 128.0.0.0/1 ::/1 8000::/1; do ip -n "$C2" route add "$prefix" dev "gd$RUN_ID"; done

metric() {
  ip netns exec "$S" curl -s -m 5 "http://$ADMIN/metrics" >"$WORK/metrics.txt"
  awk -v re="$1" '$0 !~ /^#/ && $1 ~ re {sum += $2} END {printf "%.0f\n", sum}' "$WORK/metrics.txt"
}
# phone_reaches [FAMILY]: one ping from phone to the outside host answered.
phone_reaches() {
  if [[ ${1:-4} == 6 ]]; then ip netns exec "$C2" ping -6 -c 1 -W 1 fd22::2 >/dev/null 2>&1
  else ip netns exec "$C2" ping -c 1 -W 1 10.22.0.2 >/dev/null 2>&1
  fi
}
# phone_upload SECONDS: iperf3 from phone to the outside host's second server; prints Mbit/s.
phone_upload() {
  ip netns exec "$C2" iperf3 -c 10.22.0.2 -p 5202 -t "$1" -J >"$WORK/phone-iperf.log" 2>&1 ||
    fail "phone's iperf3: $(tail -5 "$WORK/phone-iperf.log")"
  python3 -c 'import json, sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' "$WORK/phone-iperf.log"
}
for port in 5201 5202; do
  ip netns exec "$O" iperf3 -s -B 10.22.0.2 -p "$port" >"$WORK/iperf-$port.log" 2>&1 &
  PIDS+=($!)
  wait_for 5 listening "$O" "$port"
done
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.22.0.2 >/dev/null || fail "laptop has no traffic"
wait_for 10 phone_reaches || fail "phone has no traffic"
pass "two clients, laptop and phone, reach the outside host"

# 1. laptop vanishes mid-transfer.
ip netns exec "$C" iperf3 -c 10.22.0.2 -p 5201 -t 30 --forceflush >"$WORK/laptop-iperf.log" 2>&1 &
LAPTOP_IPERF=$!
PIDS+=("$LAPTOP_IPERF")
wait_for 10 grep -q "sec" "$WORK/laptop-iperf.log" || fail "laptop's upload did not start"
sleep 1
wait_for 5 grep -q '"identity":"laptop"' "$WORK/nat.log" || fail "no NAT session of laptop's logged"
kill -9 "$GO_PID_LAPTOP" 2>/dev/null || true
ip -n "$C" link set "vc$RUN_ID" down
kill -9 "$LAPTOP_IPERF" 2>/dev/null || true
vanished=$SECONDS
mbit=$(phone_upload 2)
((mbit > 0)) || fail "phone moved nothing right after laptop vanished"
laptop_open() {
  python3 - "$WORK/nat.log" laptop <<'PY'
import json, sys
open_ = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["identity"] == sys.argv[2]:
        open_ += 1 if e["event"] == "start" else -1
print(open_)
PY
}
# The expiry sweep visits the whole table in 16 s; the timeouts are 3 s (8 s for established TCP:
# iperf3 leaves its control connection idle while it measures).
deadline=$((SECONDS + 40))
until [[ $(laptop_open) == 0 ]]; do
  ((SECONDS < deadline)) || fail "laptop's NAT sessions did not expire: $(laptop_open) still open"
  phone_reaches || fail "phone lost its traffic while laptop's sessions expired"
  sleep 1
done
expired=$((SECONDS - vanished))
one_block() { (($(metric '^waygate_nat_blocks_in_use') <= 1)); }
wait_for 5 one_block || fail "laptop's port block is still held: $(metric '^waygate_nat_blocks_in_use') blocks"
mbit=$(phone_upload 2)
((mbit > 0)) || fail "phone moved nothing after laptop's sessions expired"
pass "laptop vanished mid-upload: its NAT sessions ended within ${expired} s and its block went back; phone went on throughout ($mbit Mbit/s after)"

# 2. The outside host vanishes and comes back.
ip netns exec "$C2" ping -i 0.2 -W 1 10.22.0.2 >"$WORK/ping-vanish.log" 2>&1 &
PING_PID=$!
PIDS+=("$PING_PID")
sleep 1
ip -n "$O" addr flush dev "vo$RUN_ID"
ip -n "$S" neigh flush dev "vt$RUN_ID"
sleep 3
phone_reaches && fail "the outside host still answers after it vanished"
ip netns exec "$S" curl -s -m 3 -o /dev/null "http://$ADMIN/healthz" || fail "the connector does not answer while the outside host is gone"
ip -n "$O" addr add 10.22.0.2/24 dev "vo$RUN_ID"
ip -n "$O" addr add fd22::2/64 dev "vo$RUN_ID" nodad
wait_for 15 phone_reaches || fail "traffic did not resume after the outside host came back"
kill -INT "$PING_PID"
wait "$PING_PID" 2>/dev/null || true
# The ping that ran throughout: answered before, lost while gone, answered again (one flow).
read -r sent got < <(awk '/packets transmitted/ {print $1, $4}' "$WORK/ping-vanish.log")
((got > 5 && got < sent)) || fail "the long ping: $got of $sent answered"
mbit=$(phone_upload 2)
pass "the outside host vanished and came back: the long ping resumed ($got of $sent answered), a new upload moved $mbit Mbit/s"

# 3. The egress link goes down and comes back up.
tx_failed_before=$(metric '^waygate_drops_total\{stage="egress",reason="send_failed"\}')
ip -n "$S" link set "vt$RUN_ID" down
sleep 1
phone_reaches && fail "traffic still passes with the egress link down"
sleep 2
failed=$(($(metric '^waygate_drops_total\{stage="egress",reason="send_failed"\}') - tx_failed_before))
ip -n "$S" link set "vt$RUN_ID" up
wait_for 15 phone_reaches 4 || fail "IPv4 traffic did not resume after the egress link came back"
wait_for 15 phone_reaches 6 || fail "IPv6 traffic did not resume after the egress link came back"
mbit=$(phone_upload 2)
((mbit > 0)) || fail "no upload after the egress link came back"
read_errors=$(metric '^waygate_egress_read_errors_total')
grep -qE "critical|terminate" "$WORK/connector.log" && fail "the connector logged: $(grep -E 'critical|terminate' "$WORK/connector.log")"
pass "egress link down and up: $failed sends refused while down (counted as send_failed), $read_errors read errors, IPv4 and IPv6 resumed, $mbit Mbit/s after"

stop_waygate
[[ $(ip netns exec "$S" nft list tables) != *waygate* ]] || fail "a table is left after the stop"
pass "a clean stop after all of it"
