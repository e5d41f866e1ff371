#!/usr/bin/env bash
# The first demo as a test: two namespaces joined by a waygate "wire" (two TUN edges, nothing
# between). Ping (IPv4, IPv6), a checked TCP transfer and UDP sent as QUIC sends it (UDP_SEGMENT)
# cross it; the host's counters saw the traffic;
# SIGTERM stops it cleanly and its devices disappear.
source "$(dirname "$0")/lib.sh"

A=$(new_ns a)
B=$(new_ns b)
PORT=$(free_port)
wire_config "$WORK/wire.toml" "127.0.0.1:$PORT" '"10.99.0.1/24", "fd99::1/64"' '"10.99.0.2/24", "fd99::2/64"'
start_waygate "$WORK/wire.toml" "$WORK/waygate.log"

ip netns exec "$A" ping -c 3 -i 0.2 -W 2 10.99.0.2 >/dev/null || fail "IPv4 ping across the wire"
pass "IPv4 ping"
wait_for 5 ip netns exec "$A" ping -c 1 -W 1 fd99::2 || fail "IPv6 ping across the wire"
pass "IPv6 ping"

# A TCP transfer whose every byte is checked: 20 MiB of random data over HTTP, hashed both ends.
head -c $((20 * 1024 * 1024)) /dev/urandom >"$WORK/blob"
(cd "$WORK" && exec ip netns exec "$B" python3 -m http.server 8080 --bind 10.99.0.2 >"$WORK/http.log" 2>&1) &
PIDS+=($!)
wait_for 5 listening "$B" 8080
ip netns exec "$A" curl -sS --noproxy "*" -o "$WORK/fetched" -f http://10.99.0.2:8080/blob 2>"$WORK/curl.log" || fail "TCP transfer: $(cat "$WORK/curl.log")"
[[ $(sha256sum <"$WORK/blob") == $(sha256sum <"$WORK/fetched") ]] || fail "transferred data differs"
size=$(stat -c %s "$WORK/fetched")
pass "TCP transfer of $size bytes, identical at both ends"

metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
rx=$(metric 'waygate_tun_rx_bytes_total{stage="right"}')
tx=$(metric 'waygate_tun_tx_bytes_total{stage="left"}')
((rx > size)) || fail "the right edge counted $rx bytes for a $size-byte download"
[[ $rx == "$tx" ]] || fail "right read $rx bytes but left wrote $tx"
pass "counters: $rx bytes read on the right, the same written on the left"

# UDP as QUIC sends it: 40 datagrams of 1200 bytes a send (UDP_SEGMENT). The left edge reads each
# send whole and cuts it; the right writes its datagrams glued into one train where the kernel takes
# UDP trains (USO, Linux 6.2); B's socket gets every datagram as it was sent.
udp_datagrams "$B" receive 10.99.0.2 9300 >"$WORK/udp.count" &
receiver=$!
wait_for 5 eval '[[ -n $(ip netns exec "$B" ss -Huln "sport = :9300") ]]'
glued_before=$(metric 'waygate_tun_glued_writes_total{stage="right"}')
udp_datagrams "$A" segmented 10.99.0.2 9300 || fail "the UDP_SEGMENT sends failed"
wait "$receiver" || fail "B received no datagrams"
read -r good bad <"$WORK/udp.count"
((bad == 0)) || fail "$bad of the datagrams arrived changed"
((good >= 1800)) || fail "only $good of 2000 datagrams arrived"
glued=$(($(metric 'waygate_tun_glued_writes_total{stage="right"}') - ${glued_before:-0}))
if kernel_takes_udp_trains; then
  ((glued >= 25)) || fail "the right edge wrote the datagrams in $glued trains"
fi
pass "UDP sent in segmentation offload: $good of 2000 datagrams arrived, none changed, in $glued trains"

[[ $(curl -sf --noproxy '*' "http://127.0.0.1:$PORT/healthz") == ok ]] || fail "/healthz"
code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nothing-here")
[[ $code == 404 ]] || fail "unknown admin path answered $code"
grep -q '^# TYPE waygate_drops_total counter$' <(curl -sf --noproxy '*' "http://127.0.0.1:$PORT/metrics") ||
  fail "/metrics lacks its TYPE lines"
pass "admin API: /healthz, /metrics, 404 for the rest"

kill -TERM "$WAYGATE_PID"
wait "$WAYGATE_PID" || fail "waygate exited with $? on SIGTERM"
PIDS=()
ip -n "$A" link show "wl$RUN_ID" >/dev/null 2>&1 && fail "device left behind"
pass "clean stop"
