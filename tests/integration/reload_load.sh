#!/usr/bin/env bash
# SIGHUP under load: while a wireguard-go client uploads through the exit node with iperf3, the
# connector reloads twenty times (each changing the directory, so every stage is configured
# again in place) and is once handed a broken file. No reload wedges or crashes it, every second
# of the upload moves data, the broken file is refused and the rest applied, and the counters stay
# consistent: they never go back, and the egress edge counted at least the bytes the outside host
# received.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
command -v iperf3 >/dev/null || { echo "SKIP: iperf3 not installed"; exit 77; }

three_hosts 4
ADMIN=127.0.0.1:$(free_port)
wg_key server
wg_key client
# config DESCRIPTION UDP_TIMEOUT: the connector's file, two values of which the reloads change.
config() {
  exit_connector 4 "admin = \"$ADMIN\"" "" "udp = \"$2\"" |
    sed "s/^type = \"exit_node\"\$/&\ndescription = \"$1\"/" >"$WORK/connector.toml"
}
config "before" "2m"
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"
exit_client 4
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.42.0.2 >/dev/null || fail "no traffic before the reloads"

COUNTERS='^waygate_(egress_tx_bytes_total|egress_tx_packets_total|wireguard_rx_bytes_total|wireguard_rx_packets_total|nat_translations_total)'
# counters: every counter matching COUNTERS, one "name{labels} value" a line, sorted.
counters() {
  ip netns exec "$S" curl -s -m 5 "http://$ADMIN/metrics" | awk -v re="$COUNTERS" '$0 !~ /^#/ && $1 ~ re {print $1, $2}' | sort
}
applied() { grep -c "reload: applied" "$WORK/connector.log" || true; }
applied_beyond() { (($(applied) > $1)); }

ip netns exec "$O" iperf3 -s -1 -B 10.42.0.2 >"$WORK/iperf-server.log" 2>&1 &
PIDS+=($!)
wait_for 5 listening "$O" 5201
ip netns exec "$C" iperf3 -c 10.42.0.2 -t 14 -J >"$WORK/iperf.json" 2>&1 &
IPERF=$!
PIDS+=("$IPERF")
sleep 2
counters >"$WORK/counters.0"
[[ -s $WORK/counters.0 ]] || fail "no counters to follow"
good=0
for i in $(seq 1 21); do
  if ((i == 11)); then  # a broken file in the middle: refused, the running config kept
    echo "[[stage]]" >>"$WORK/connector.toml"
    kill -HUP "$WAYGATE_PID"
    wait_for 10 grep -q "reload failed" "$WORK/connector.log" || fail "the broken file was not refused"
    continue
  fi
  if ((i % 2)); then config "odd $i" "3m"; else config "even $i" "2m"; fi
  before=$(applied)
  kill -HUP "$WAYGATE_PID"
  wait_for 10 applied_beyond "$before" || fail "reload $i did not apply: $(grep -i reload "$WORK/connector.log" | tail -3)"
  good=$((good + 1))
  counters >"$WORK/counters.$i"
  # No counter goes back: a reload keeps what was counted.
  join "$WORK/counters.0" "$WORK/counters.$i" | awk '$3 < $2 {print; bad = 1} END {exit bad}' >"$WORK/back.txt" ||
    fail "counters went back over reload $i: $(cat "$WORK/back.txt")"
  cp "$WORK/counters.$i" "$WORK/counters.0"
  sleep 0.3
done
kill -0 "$WAYGATE_PID" || fail "the connector died under the reloads"
wait "$IPERF" || fail "iperf3 failed under the reloads: $(tail -5 "$WORK/iperf.json")"
python3 - "$WORK/iperf.json" >"$WORK/iperf-summary.txt" <<'PY' || fail "the upload stalled: $(cat "$WORK/iperf-summary.txt")"
import json, sys
r = json.load(open(sys.argv[1]))
seconds = [i["sum"]["bytes"] for i in r["intervals"]]
print(r["end"]["sum_received"]["bytes"], int(r["end"]["sum_received"]["bits_per_second"] / 1e6), min(seconds), len(seconds))
sys.exit(0 if min(seconds) > 0 else 1)
PY
read -r received mbit slowest intervals <"$WORK/iperf-summary.txt"
sleep 0.5
tx=$(ip netns exec "$S" curl -s -m 5 "http://$ADMIN/metrics" | awk '$1 ~ /^waygate_egress_tx_bytes_total/ {s += $2} END {printf "%.0f\n", s}')
((tx >= received)) || fail "the egress edge counted $tx bytes out, the outside host received $received"
grep -q "reload: applied" "$WORK/connector.log" && ! grep -qE "critical|a stage refused" "$WORK/connector.log" ||
  fail "the connector logged: $(grep -E 'critical|a stage refused' "$WORK/connector.log")"
pass "$good reloads and one refused file under an iperf3 upload: $mbit Mbit/s, every one of its $intervals seconds moved data (the slowest $slowest bytes), no counter went back, egress counted $tx bytes for the $received received"
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.42.0.2 >/dev/null || fail "no traffic after the reloads"
stop_waygate
[[ $(ip netns exec "$S" nft list tables) != *waygate* ]] || fail "a table is left after the stop"
pass "traffic after the reloads, and a clean stop"
