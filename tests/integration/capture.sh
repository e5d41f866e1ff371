#!/usr/bin/env bash
# `waygate capture`: a stock WireGuard client (wireguard-go) pings and fetches a page through the
# exit node. A capture right after the tunnel shows her overlay address as the source, one after
# nat the egress address; `tcp port 8080` keeps only the page; tcpdump reads what it writes, from a
# file and from a pipe; the text lines name the identity; a bad expression is a clear error naming
# it; two captures run at once; a capture nobody reads loses packets, counted, and slows nothing.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not installed"; exit 77; }

three_hosts 5
wg_key server
wg_key client
exit_connector 5 'admin = "127.0.0.1:9190"' >"$WORK/connector.toml"
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"
exit_client 5  # laptop at 10.50.0.2; the outside host at 10.52.0.2; the egress address 10.52.0.1
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.52.0.2 >/dev/null || fail "no traffic through the exit node"
(cd "$WORK" && exec ip netns exec "$O" python3 -m http.server 8080 --bind 10.52.0.2 >"$WORK/http.log" 2>&1) &
PIDS+=($!)
wait_for 5 listening "$O" 8080

capture() { ip netns exec "$S" "$WAYGATE" capture -c "$WORK/connector.toml" "$@"; }
# traffic: pings and a page, for a few seconds
traffic() {
  ip netns exec "$C" ping -c 8 -i 0.25 -W 2 10.52.0.2 >/dev/null &
  PIDS+=($!)
  for _ in 1 2; do ip netns exec "$C" curl -sS -m 5 -o /dev/null http://10.52.0.2:8080/ || true; sleep 0.5; done
}
read_pcap() { tcpdump -nn -r "$1" 2>/dev/null; }

# Right after the tunnel (the default): decrypted, her overlay address as the source.
capture --count 4 -w "$WORK/tunnel.pcapng" icmp 2>"$WORK/tunnel.err" &
CAP=$!
sleep 0.5
traffic
wait "$CAP" || fail "capture after the tunnel: $(cat "$WORK/tunnel.err")"
lines=$(read_pcap "$WORK/tunnel.pcapng")
[[ $(wc -l <<<"$lines") -eq 4 && $lines == *"10.50.0.2 > 10.52.0.2: ICMP echo request"* ]] || fail "tcpdump read: $lines"
[[ $(cat "$WORK/tunnel.err") == *"4 packet(s) captured at the link after tunnel, 0 lost"* ]] || fail "summary: $(cat "$WORK/tunnel.err")"
pass "after the tunnel: 4 ICMP packets, decrypted, from her overlay address 10.50.0.2 (tcpdump reads the file)"

# After nat: translated, the egress address as the source; tcpdump reads a pipe too.
capture --at nat --count 2 -w - icmp 2>/dev/null | tcpdump -nn -r - 2>/dev/null >"$WORK/nat.txt" &
CAP=$!
sleep 0.5
traffic
wait "$CAP" || true
grep -q "10.52.0.1 > 10.52.0.2: ICMP echo request" "$WORK/nat.txt" || fail "after nat: $(cat "$WORK/nat.txt")"
grep -q "10.50.0.2" "$WORK/nat.txt" && fail "her overlay address left the nat: $(cat "$WORK/nat.txt")"
pass "after nat: the egress address 10.52.0.1 as the source, read by tcpdump from a pipe"

# The filter: only the page.
capture --seconds 3 -w "$WORK/page.pcapng" tcp port 8080 2>/dev/null &
CAP=$!
sleep 0.5
traffic
wait "$CAP" || fail "capture of the page"
lines=$(read_pcap "$WORK/page.pcapng")
[[ -n $lines && $(grep -vc "\.8080\|8080:" <<<"$lines" || true) -eq 0 ]] || fail "not only the page: $lines"
pass "tcp port 8080 keeps only the page: $(wc -l <<<"$lines") TCP packets, no ICMP"

# Text lines, by identity; two captures at once.
capture --identity laptop --count 3 icmp >"$WORK/one.txt" 2>&1 &
ONE=$!
capture --count 3 icmp >"$WORK/two.txt" 2>&1 &
TWO=$!
sleep 0.5
traffic
wait "$ONE" || fail "the first of two captures: $(cat "$WORK/one.txt")"
wait "$TWO" || fail "the second of two captures: $(cat "$WORK/two.txt")"
grep -q "10.50.0.2 > 10.52.0.2 ICMP 84 bytes  (outbound at tunnel identity laptop socket -)" "$WORK/one.txt" ||  # the policy stage, next, binds the socket
  fail "text lines: $(cat "$WORK/one.txt")"
[[ $(grep -c ICMP "$WORK/two.txt") -eq 3 ]] || fail "the second capture: $(cat "$WORK/two.txt")"
pass "two captures at once, each its 3 packets; a line names the identity and socket: $(head -1 "$WORK/one.txt")"

# A bad expression, a stage that is not there: clear errors.
out=$(capture tcp prot 80 2>&1) && fail "a bad expression was taken"
[[ $out == *"the filter 'tcp prot 80' does not compile"* ]] || fail "bad expression: $out"
out=$(capture --at nowhere 2>&1) && fail "a missing stage was taken"
[[ $out == *"no stage 'nowhere'"* ]] || fail "missing stage: $out"
pass "errors: $out; and a bad expression: $(capture tcp prot 80 2>&1 | head -1)"

# At most 8 at once: the ninth is refused, and ending one makes room.
admin() { ip netns exec "$S" curl -sS -m 5 "$@"; }
ids=()
for _ in 1 2 3 4 5 6 7 8; do
  ids+=("$(admin -X POST -H 'Content-Type: application/json' http://127.0.0.1:9190/v1/capture -d '{"at": "nat", "seconds": 30}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')")
done
code=$(admin -o "$WORK/ninth.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' http://127.0.0.1:9190/v1/capture -d '{"at": "nat"}')
[[ $code == 429 && $(cat "$WORK/ninth.json") == *"8 captures run already"* ]] || fail "a ninth capture: $code $(cat "$WORK/ninth.json")"
for id in "${ids[@]}"; do admin -X DELETE -H "Content-Type: application/json" "http://127.0.0.1:9190/v1/capture/$id" >/dev/null; done
pass "a ninth capture at once is refused (429): each holds a ring of its own"

# Nobody reads: its ring fills, the rest is lost and counted, and the traffic goes on as before.
id=$(admin -X POST -H 'Content-Type: application/json' http://127.0.0.1:9190/v1/capture \
  -d '{"at": "tunnel", "count": 100000, "seconds": 60}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
ip netns exec "$C" ping -c 3000 -i 0.002 -W 1 -q 10.52.0.2 >"$WORK/flood.txt" 2>&1 || true
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/flood.txt")
((received >= 2950)) || fail "traffic slowed by a capture nobody reads: $(tail -2 "$WORK/flood.txt")"
admin -X DELETE -H "Content-Type: application/json" "http://127.0.0.1:9190/v1/capture/$id" >"$WORK/unread.json"
lost=$(python3 - "$WORK/unread.json" <<'PY') || fail "the unread capture: $(head -c 300 "$WORK/unread.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "done" and s["captured"] >= 2048 and s["lost"] > 0, s
print(s["lost"])
PY
pass "a capture nobody reads: $received of 3000 pings answered, its ring full and $lost packets lost, counted"
grep -q "capture 1 started by 127.0.0.1 at the link after stage tunnel" "$WORK/connector.log" || fail "captures are not logged"
