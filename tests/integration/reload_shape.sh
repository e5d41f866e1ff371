#!/usr/bin/env bash
# ctest-run-serial
# A reload of another shape keeps what did not change. While a wireguard-go client downloads
# through the exit node (iperf3, reversed, at 5 Mbit/s: faster, the client's own socket buffer
# overflows now and then, reload or not) and pings the outside host every 100 ms, the connector
# is reloaded with a stage added after policy (stats), then with it removed again. The tunnel,
# policy, nat and egress stages move into the new pipeline running, with their WireGuard session
# and NAT sessions: each reload costs at most one ping answer, the download moves data every
# second, and nobody handshakes again. The figures are printed.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
command -v iperf3 >/dev/null || { echo "SKIP: iperf3 not installed"; exit 77; }

three_hosts 6
ADMIN=127.0.0.1:$(free_port)
wg_key server
wg_key client
exit_connector 6 "admin = \"$ADMIN\"" >"$WORK/plain.toml"
sed '/^plugin = "policy"$/a [[stage]]\nname = "stats"\nplugin = "stats"' "$WORK/plain.toml" >"$WORK/with-stats.toml"
grep -q '^name = "stats"' "$WORK/with-stats.toml" || fail "the stats stage was not added"
cp "$WORK/plain.toml" "$WORK/connector.toml"
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"
exit_client 6
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.62.0.2 >/dev/null || fail "no traffic before the reloads"

metric() {  # the sum of a metric's samples
  ip netns exec "$S" curl -s -m 5 "http://$ADMIN/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 {s += $2} END {printf "%.0f\n", s}'
}
applied() { grep -c "reload: applied" "$WORK/connector.log" || true; }
applied_beyond() { (($(applied) > $1)); }

ip netns exec "$O" iperf3 -s -1 -B 10.62.0.2 >"$WORK/iperf-server.log" 2>&1 &
PIDS+=($!)
wait_for 5 listening "$O" 5201
ip netns exec "$C" iperf3 -c 10.62.0.2 -R -b 5M -t 16 -J >"$WORK/iperf.json" 2>&1 &
IPERF=$!
PIDS+=("$IPERF")
sleep 1
handshakes=$(metric waygate_wireguard_handshakes_total)

# reload FILE: 40 pings at 100 ms around a SIGHUP that applies FILE; prints the answers lost.
reload() {
  local before lost
  ip netns exec "$C" ping -q -i 0.1 -c 40 -W 2 10.62.0.2 >"$WORK/ping.txt" 2>&1 &
  local ping=$!
  sleep 1
  cp "$1" "$WORK/connector.toml"
  before=$(applied)
  kill -HUP "$WAYGATE_PID"
  wait_for 10 applied_beyond "$before" || fail "the reload to $(basename "$1") was not applied: $(grep -i reload "$WORK/connector.log" | tail -3)"
  wait "$ping" || true
  lost=$(awk '/packets transmitted/ {print $1 - $4}' "$WORK/ping.txt")
  [[ -n $lost ]] || fail "ping said: $(cat "$WORK/ping.txt")"
  echo "$lost"
}
lost_add=$(reload "$WORK/with-stats.toml")
grep -q "reload: 4 stage(s) kept running, 1 started;" "$WORK/connector.log" ||
  fail "adding stats did not keep the four others: $(grep 'reload:' "$WORK/connector.log" | tail -2)"
[[ $(ip netns exec "$S" curl -s -m 5 "http://$ADMIN/v1/stats") == *'"sockets"'* ]] || fail "the added stats stage does not serve"
lost_remove=$(reload "$WORK/plain.toml")
grep -q "reload: 4 stage(s) kept running, 0 started;" "$WORK/connector.log" ||
  fail "removing stats did not keep the four others: $(grep 'reload:' "$WORK/connector.log" | tail -2)"

wait "$IPERF" || fail "the download failed across the reloads: $(tail -5 "$WORK/iperf.json")"
python3 - "$WORK/iperf.json" >"$WORK/iperf-summary.txt" <<'PY' || fail "the download stalled: $(cat "$WORK/iperf-summary.txt")"
import json, sys
r = json.load(open(sys.argv[1]))
seconds = [i["sum"]["bytes"] for i in r["intervals"]]
print(int(r["end"]["sum_received"]["bits_per_second"] / 1e6), min(seconds), len(seconds))
sys.exit(0 if min(seconds) > 0 else 1)
PY
read -r mbit slowest intervals <"$WORK/iperf-summary.txt"
again=$(($(metric waygate_wireguard_handshakes_total) - handshakes))
((lost_add <= 1 && lost_remove <= 1)) ||
  fail "pings lost: $lost_add when a stage was added, $lost_remove when it was removed (at most one each)"
((again == 0)) || fail "the client handshook $again more time(s): its session did not survive the reloads"
pass "stage added, then removed, under a download and pings every 100 ms: $lost_add and $lost_remove answer(s) lost, no new handshake, the download at $mbit Mbit/s moved data in every one of its $intervals seconds (the slowest $slowest bytes); $(grep -o 'the worker paused [0-9.]* ms' "$WORK/connector.log" | tr '\n' ' ')"
stop_waygate
