#!/usr/bin/env bash
# TUN-to-TUN forwarding rate of the waygate wire (configs/wire.toml's shape) at 64- and 1400-byte
# IPv4 packets, beside the kernel's own path (a veth pair) measured in the same run. UDP from
# iperf3 at full speed for a few seconds each; prints packets per second received and lost, and
# waygate's CPU seconds. A benchmark: it prints numbers and asserts nothing.
#   bash tests/bench/tun_wire.sh build/waygate [seconds]
source "$(dirname "$0")/../integration/lib.sh"
SECS=${2:-5}

A=$(new_ns a)
B=$(new_ns b)
# The reference path: a veth pair between two other namespaces.
VA=$(new_ns va)
VB=$(new_ns vb)
ip link add "va$RUN_ID" netns "$VA" type veth peer name "vb$RUN_ID" netns "$VB"
ip -n "$VA" addr add 10.97.0.1/24 dev "va$RUN_ID"
ip -n "$VB" addr add 10.97.0.2/24 dev "vb$RUN_ID"
ip -n "$VA" link set "va$RUN_ID" up mtu 1420
ip -n "$VB" link set "vb$RUN_ID" up mtu 1420

wire_config "$WORK/wire.toml" "" '"10.96.0.1/24"' '"10.96.0.2/24"'
start_waygate "$WORK/wire.toml" "$WORK/waygate.log"

cpu_seconds() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }

# measure CLIENT_NS SERVER_NS SERVER_ADDR PACKET_BYTES -> "received_pps lost_percent"
measure() {
  local payload=$(($4 - 28))  # IPv4 + UDP headers
  ip netns exec "$2" iperf3 -s -1 -B "$3" -p 5301 >/dev/null 2>&1 &
  local server=$!
  wait_for 5 listening "$2" 5301  # iperf3's control connection is TCP
  ip netns exec "$1" iperf3 -u -b 0 -l "$payload" -t "$SECS" -c "$3" -p 5301 -J >"$WORK/run.json" 2>/dev/null
  wait "$server" || true
  python3 - "$WORK/run.json" <<'PY'
import json, sys
end = json.load(open(sys.argv[1]))["end"]["sum"]
received = end["packets"] - end["lost_packets"]
print(f'{received / end["seconds"]:.0f} {end["lost_percent"]:.1f}')
PY
}

printf '%-28s %8s %14s %8s %12s\n' path bytes "received pps" "lost %" "waygate cpu-s"
for size in 64 1400; do
  before=$(cpu_seconds "$WAYGATE_PID")
  read -r pps lost < <(measure "$A" "$B" 10.96.0.2 "$size")
  after=$(cpu_seconds "$WAYGATE_PID")
  printf '%-28s %8s %14s %8s %12s\n' "waygate wire (tun->tun)" "$size" "$pps" "$lost" "$(echo "$after - $before" | bc)"
  read -r pps lost < <(measure "$VA" "$VB" 10.97.0.2 "$size")
  printf '%-28s %8s %14s %8s %12s\n' "kernel veth (reference)" "$size" "$pps" "$lost" "-"
done
