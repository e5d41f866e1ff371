#!/usr/bin/env bash
# `waygate capture`: a stock WireGuard client (wireguard-go) pings and fetches a page through the
# exit node. A capture right after the tunnel shows her overlay address as the source, one after
# nat the egress address; `tcp port 8080` keeps only the page; tcpdump reads what it writes, from a
# file and from a pipe; the text lines name the identity; a bad expression is a clear error naming
# it; two captures run at once; a capture nobody reads loses packets, counted, and slows nothing.
# `waygate trace` follows her ping through every stage, the NAT's change and the policy's socket
# named, and says where a denied one stops. Each capture and trace is in the audit log. A capture
# whose client goes away ends cleanly, with what it had.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not installed"; exit 77; }

three_hosts 5
wg_key server
wg_key client
wg_key other
exit_connector 5 "admin = \"127.0.0.1:9190\"
audit_log = \"$WORK/audit.log\"" "[[identity]]
name = \"other\"
public_key = \"$(cat "$WORK/other.pub")\"" >"$WORK/connector.toml"
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

# A trace: her ping through every stage, what each did and changed; the answer back the same way.
trace() { ip netns exec "$S" "$WAYGATE" trace -c "$WORK/connector.toml" "$@"; }
trace --identity laptop --count 2 icmp >"$WORK/trace.txt" 2>"$WORK/trace.err" &
TRACE=$!
sleep 0.5
traffic
wait "$TRACE" || fail "trace: $(cat "$WORK/trace.err")"
python3 - "$WORK/trace.txt" <<'PY' || fail "the trace: $(cat "$WORK/trace.txt")"
import re, sys
text = open(sys.argv[1]).read()
packets = re.split(r"\n(?=\d\d:)", text.strip())
out = [p for p in packets if "laptop ICMP 10.50.0.2 > 10.52.0.2, 84 bytes" in p]
back = [p for p in packets if "laptop ICMP 10.52.0.2 > 10.52.0.1, 84 bytes" in p]
assert len(out) + len(back) == 2 and out, packets
steps = [l.split()[:2] for l in out[0].splitlines()[1:]]
assert steps == [["tunnel", "received"], ["policy", "pass"], ["nat", "pass"], ["egress", "taken"]], steps
assert re.search(r"policy +pass +[0-9.]+ us  socket exit", out[0]), out[0]
assert re.search(r"nat +pass +[0-9.]+ us  ICMP 10.50.0.2 > 10.52.0.2 -> ICMP 10.52.0.1 > 10.52.0.2", out[0]), out[0]
if back:
    steps = [l.split()[:2] for l in back[0].splitlines()[1:]]
    assert steps == [["egress", "received"], ["nat", "pass"], ["policy", "pass"], ["tunnel", "taken"]], steps
PY
[[ $(cat "$WORK/trace.err") == "2 packet(s) traced, 0 lost; ended: it has its packets" ]] || fail "trace summary: $(cat "$WORK/trace.err")"
pass "a trace follows her ping: $(grep -A4 "laptop ICMP 10.50.0.2" "$WORK/trace.txt" | head -5 | tr -s ' ' | paste -sd'|')"

# Ctrl-C ends a capture cleanly: what it held is read and written, and it says why it ended.
# (Started directly: a background job of this shell would have SIGINT ignored, then handed on.)
ip netns exec "$S" "$WAYGATE" capture -c "$WORK/connector.toml" -w "$WORK/interrupted.pcapng" icmp 2>"$WORK/interrupted.err" &
CAP=$!
sleep 0.5
traffic
kill -INT "$CAP"
wait "$CAP" || fail "an interrupted capture: $(cat "$WORK/interrupted.err")"
[[ $(cat "$WORK/interrupted.err") == *"ended: its reader ended it"* ]] || fail "interrupted: $(cat "$WORK/interrupted.err")"
[[ $(read_pcap "$WORK/interrupted.pcapng" | grep -c "ICMP echo") -ge 4 ]] || fail "the interrupted capture's file: $(read_pcap "$WORK/interrupted.pcapng")"
pass "Ctrl-C ends a capture: $(cat "$WORK/interrupted.err")"

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
lost=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "done" and s["captured"] >= 2048 and s["lost"] > 0, s
print(s["lost"])' "$WORK/unread.json") || fail "the unread capture: $(head -c 300 "$WORK/unread.json")"
pass "a capture nobody reads: $received of 3000 pings answered, its ring full and $lost packets lost, counted"
grep -q 'capture 1 started by 127.0.0.1: {"time"' "$WORK/connector.log" || fail "captures are not logged"
python3 - "$WORK/audit.log" <<'PY' || fail "the audit log: $(cat "$WORK/audit.log")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
first = lines[0]
assert first["event"] == "capture" and first["by"] == "127.0.0.1" and first["at"] == "tunnel" and first["filter"] == "icmp" and first["count"] == 4, first
trace = [l for l in lines if l["event"] == "trace"][0]
assert trace["identity"] == "laptop" and trace["filter"] == "icmp" and trace["count"] == 2, trace
PY
pass "each capture and trace is in the audit log: $(head -1 "$WORK/audit.log")"

# The doctor traces the pipeline while it checks: her pings leave through egress.
doctor() {
  ip netns exec "$C" ping -c 12 -i 0.25 -W 1 10.52.0.2 >/dev/null 2>&1 &
  PIDS+=($!)
  ip netns exec "$S" "$WAYGATE" doctor -c "$WORK/connector.toml" --wait 1 >"$WORK/$1" 2>&1 || true
}
doctor doctor.txt
grep -Eq "^pass where packets stop: laptop's ICMP leaves through (egress|tunnel) \([0-9]+ packets\)" "$WORK/doctor.txt" ||
  fail "doctor, where packets stop: $(cat "$WORK/doctor.txt")"
pass "doctor: $(grep "where packets stop" "$WORK/doctor.txt")"

# A client without the permission: her ping stops at policy, which has no exit node for her (the
# reason it counts such drops under), and the trace says so.
sed -i 's/^organization_wide = true/sockets = ["exit"]\nidentities = ["other"]/' "$WORK/connector.toml"
kill -HUP "$WAYGATE_PID"
wait_for 10 grep -q "reload: applied" "$WORK/connector.log"
trace --identity laptop --count 1 icmp >"$WORK/denied.txt" 2>&1 &
TRACE=$!
sleep 0.5
ip netns exec "$C" ping -c 3 -i 0.3 -W 1 10.52.0.2 >/dev/null && fail "a denied client's ping was answered"
wait "$TRACE" || fail "trace of a denied client: $(cat "$WORK/denied.txt")"
grep -Eq "^ +policy +drop no_exit_node " "$WORK/denied.txt" || fail "the denied trace: $(cat "$WORK/denied.txt")"
pass "a denied client's trace: $(grep "drop no_exit_node" "$WORK/denied.txt" | tr -s ' ')"
doctor denied-doctor.txt
grep -Eq "^FAIL where packets stop: laptop's ICMP reaches policy and is dropped: no_exit_node \([0-9]+ packets\)" "$WORK/denied-doctor.txt" ||
  fail "doctor of a denied client: $(cat "$WORK/denied-doctor.txt")"
grep -q -- "-> \`waygate trace -c $WORK/connector.toml --identity laptop\`" "$WORK/denied-doctor.txt" || fail "doctor's hint: $(cat "$WORK/denied-doctor.txt")"
pass "doctor of a denied client: $(grep "where packets stop" "$WORK/denied-doctor.txt")"

# Her client goes away while a capture of hers runs: it ends on its time, cleanly, with what it had.
capture --identity laptop --seconds 3 -w "$WORK/gone.pcapng" 2>"$WORK/gone.err" &
CAP=$!
ip netns exec "$C" ping -c 2 -i 0.2 -W 1 10.52.0.2 >/dev/null || true
ip -n "$C" link del "gc$RUN_ID"
wait "$CAP" || fail "a capture whose client left: $(cat "$WORK/gone.err")"
[[ $(cat "$WORK/gone.err") == *"ended: its time is up"* ]] || fail "summary: $(cat "$WORK/gone.err")"
read_pcap "$WORK/gone.pcapng" >/dev/null || fail "tcpdump cannot read the capture whose client left"
pass "a capture whose client left ends on its time: $(cat "$WORK/gone.err")"
