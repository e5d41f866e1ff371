#!/usr/bin/env bash
# The admin API and the web portal of a running exit node, with a real client sending traffic:
#   alice (C) 10.91.0.2 --- connector (S) 10.92.0.1, fd92::1 --- outside host (O) 10.92.0.2
# The JSON API and /metrics answer (strict Prometheus format, the token honoured, drops counted
# for the socket and identity by exactly what was sent); headless
# Chromium opens the portal, signs in with the token, sees the exit node and its chart move while
# alice's traffic flows, creates an exit node through the form (the file keeps its comments; a bad
# one is refused and nothing is written), and saves a screenshot to artifacts/ beside the binary.
# A restart keeps the traffic series.
# ctest-timeout: 240
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
[[ -x /usr/bin/chromium ]] || { echo "SKIP: Debian's chromium is not installed (.ci/install-deps.sh)"; exit 77; }
BUILD=$(cd "$(dirname "$WAYGATE")" && pwd)
MODULES=$BUILD/framework/portal/node_modules
[[ -d $MODULES/playwright-core ]] || fail "no playwright-core in $MODULES (the build installs it)"
TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)

three_hosts 9
wg_key server
wg_key alice
PORT=9190
(umask 077 && head -c 24 /dev/urandom | base64 >"$WORK/admin.token")
TOKEN=$(cat "$WORK/admin.token")
cat >"$WORK/connector.toml" <<TOML
# The portal test's connector. This comment must survive a socket created from the portal.
[host]
admin = "127.0.0.1:$PORT"
admin_token_file = "$WORK/admin.token"
state_dir = "$WORK/state"

[overlay]
pool4 = "10.90.0.0/24"
pool6 = "fd90::/64"

[[identity]]
name = "alice"
public_key = "$(cat "$WORK/alice.pub")"
groups = ["staff"]

[[socket]]
name = "corporate-exit"
type = "exit_node"
description = "Exit node for all corporate traffic"
connector = "connector-1"
egress = ["10.92.0.1", "fd92::1"]
egress_ports = "40000-40999"
allow = ["10.92.0.0/24", "fd92::/64"]  # the outside host's private network: not the internet

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
name = "policy"
plugin = "policy"

[[stage]]
name = "shaper"
plugin = "shaper"
[[stage.quota]]
identity = "alice"
bytes = "10GB"
per = "day"

[[stage]]
name = "stats"
plugin = "stats"
history = "$WORK/state/stats.json"

[[stage]]
name = "nat"
plugin = "nat"
block_size = 64
max_sessions = 10000

[[stage]]
name = "egress"
plugin = "egress"
interface = "vt$RUN_ID"
TOML
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"

gc="ga$RUN_ID"
wireguard_go "$C" "$gc"
ip netns exec "$C" wg set "$gc" private-key "$WORK/alice.key" \
  peer "$(cat "$WORK/server.pub")" endpoint "10.91.0.1:51820" allowed-ips 0.0.0.0/0,::/0
ip -n "$C" addr add 10.90.0.2/32 dev "$gc"
ip -n "$C" addr add fd90::2/128 dev "$gc" nodad
ip -n "$C" link set "$gc" up mtu 1420
for prefix in 0.0.0.0/1 128.0.0.0/1 ::/1 8000::/1; do ip -n "$C" route add "$prefix" dev "$gc"; done
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.92.0.2 >/dev/null || fail "alice cannot reach the outside host"
pass "alice reaches the outside host through the exit node"

# A connection that sends nothing is closed by the connector after its idle limit (30 s), checked
# at the end: the test takes longer than that.
ip netns exec "$S" python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(90)
start = time.time()
s.recv(1)
print(round(time.time() - start))
' "$PORT" >"$WORK/idle.txt" 2>&1 &
PIDS+=($!)

admin() {  # PATH [curl options]: the admin API with the token
  local path=$1
  shift
  ip netns exec "$S" curl -sS -m 10 -H "Authorization: Bearer $TOKEN" "$@" "http://127.0.0.1:$PORT$path"
}
status_of() {  # PATH [curl options]: the HTTP status, without the token unless given
  local path=$1
  shift
  ip netns exec "$S" curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$path"
}

# The token: the API asks for it, the portal's files (which hold no data) do not.
[[ $(status_of /v1/stats) == 401 && $(status_of /v1/sockets -X POST -H 'Content-Type: application/json' -d '{"name":"x"}') == 401 ]] ||
  fail "the API answers without the token"
[[ $(status_of /) == 200 && $(status_of /assets/portal.js) == 200 && $(status_of /assets/portal.css) == 200 ]] ||
  fail "the portal's files are not served"
[[ $(status_of /assets/nothing.js -H "Authorization: Bearer $TOKEN") == 404 ]] || fail "a missing asset is not a 404"
headers=$(ip netns exec "$S" curl -sS -m 10 -o /dev/null -D - "http://127.0.0.1:$PORT/")
[[ $headers == *"Content-Security-Policy: default-src 'self';"*"frame-ancestors 'none'"* && $headers == *"X-Frame-Options: DENY"* ]] ||
  fail "the page may be framed or load from elsewhere: $headers"
pass "the API needs the token; the portal's page and bundle are served without it"

python3 - "$(admin /v1/sockets)" "$(admin /v1/policies)" <<'PY' || fail "/v1/sockets or /v1/policies: $(admin /v1/sockets) $(admin /v1/policies)"
import json, sys
sockets, policies = json.loads(sys.argv[1])["sockets"], json.loads(sys.argv[2])["policies"]
s = sockets[0]
assert [x["name"] for x in sockets] == ["corporate-exit"], sockets
assert (s["type"], s["description"], s["connectors"]) == ("exit_node", "Exit node for all corporate traffic", ["connector-1"]), s
assert s["egress"] == ["10.92.0.1", "fd92::1"] and s["policies"] == ["staff-exit"], s
p = policies[0]
assert p["name"] == "staff-exit" and p["sockets"] == ["corporate-exit"] and p["who"]["groups"] == ["staff"], p
PY
pass "/v1/sockets and /v1/policies describe the exit node and its policy"

# Drops count for the socket and identity whose packets they were, by exactly what was sent:
# five datagrams of a protocol the NAT does not translate (20 + 100 bytes each) pass policy and
# stats and are dropped by nat.
stats_of() {  # the exit node's upload bytes, unsupported_protocol drops, NAT sessions, handshakes
  admin /v1/stats | python3 -c '
import json, sys
b = json.load(sys.stdin)
s = [x for x in b["sockets"] if x["name"] == "corporate-exit"][0]
a = [x for x in b["identities"] if x["name"] == "alice"][0]
print(s["bytes"]["outbound"], s["drops"].get("unsupported_protocol", 0), a["drops"].get("unsupported_protocol", 0),
      s["nat_sessions"], s["handshakes"])'
}
metric() {  # NAME LABEL: the value of the series of NAME whose labels contain LABEL
  admin /metrics | awk -v n="$1" -v l="$2" 'index($0, n "{") == 1 && index($0, l) {print $2}'
}
read -r up0 drops0 alice0 _ _ <<<"$(stats_of)"
prom0=$(metric waygate_socket_drops_total 'socket="corporate-exit",stage="nat",reason="unsupported_protocol"')
ip netns exec "$C" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
for _ in range(5):
    s.sendto(b"x" * 100, ("10.92.0.2", 0))
'
sleep 0.5
read -r up1 drops1 alice1 sessions handshakes <<<"$(stats_of)"
prom1=$(metric waygate_socket_drops_total 'socket="corporate-exit",stage="nat",reason="unsupported_protocol"')
((up1 - up0 == 600 && drops1 - drops0 == 5 && alice1 - alice0 == 5 && ${prom1:-0} - ${prom0:-0} == 5)) ||
  fail "after 5 datagrams of 120 bytes: upload +$((up1 - up0)), socket drops +$((drops1 - drops0)), alice's +$((alice1 - alice0)), /metrics +$((${prom1:-0} - ${prom0:-0}))"
[[ $(metric waygate_identity_drops_total 'identity="alice",stage="nat",reason="unsupported_protocol"') == "$alice1" ]] ||
  fail "alice's drops in /metrics"
((sessions >= 1 && handshakes >= 1)) || fail "the exit node shows $sessions NAT sessions, $handshakes handshakes"
pass "5 refused datagrams: upload +600 bytes, 5 drops for corporate-exit and alice (/v1/stats and /metrics); $sessions NAT session(s), $handshakes handshake(s)"

admin /metrics >"$WORK/metrics.txt" || fail "no /metrics"
python3 "$TOOLS/check_prometheus.py" waygate_drops_total waygate_stats_socket_bytes_total \
  waygate_stats_identity_bytes_total waygate_stats_socket_clients waygate_socket_drops_total \
  waygate_identity_drops_total waygate_nat_socket_sessions waygate_stats_socket_handshakes \
  <"$WORK/metrics.txt" >"$WORK/check.txt" ||
  fail "/metrics is not strict Prometheus text: $(cat "$WORK/check.txt")"
pass "/metrics passes the strict format check: $(cat "$WORK/check.txt")"

# Traffic while the browser looks: 1000-byte pings, 20 a second, each way.
ip netns exec "$C" ping -q -i 0.05 -s 972 -w 120 10.92.0.2 >/dev/null 2>&1 &
PIDS+=($!)
ARTIFACTS=$BUILD/artifacts
mkdir -p "$ARTIFACTS" "$WORK/home"
cp "$WORK/connector.toml" "$WORK/before.toml"
ip netns exec "$S" env HOME="$WORK/home" NODE_PATH="$MODULES" node "$(dirname "$0")/portal_browser.cjs" \
  "http://127.0.0.1:$PORT/" "$TOKEN" corporate-exit "$ARTIFACTS/portal.png" "$WORK/profile" >"$WORK/browser.log" 2>&1 ||
  fail "the portal in Chromium: $(cat "$WORK/browser.log")"
sed 's/^/  /' "$WORK/browser.log"
pass "the portal in headless Chromium: exit node, moving chart, clients, graph, a new exit node; $ARTIFACTS/portal.png"

# The file: the old text whole (comments included), the new table appended, and it loads.
head -c "$(stat -c %s "$WORK/before.toml")" "$WORK/connector.toml" | cmp -s - "$WORK/before.toml" ||
  fail "the config file's old text changed"
grep -q '^# The portal test.s connector. This comment must survive' "$WORK/connector.toml" || fail "the comment is gone"
tail -n +"$(($(wc -l <"$WORK/before.toml") + 1))" "$WORK/connector.toml" >"$WORK/added.toml"
grep -qx 'name = "home-exit"' "$WORK/added.toml" && grep -qx 'description = "Created from the portal"' "$WORK/added.toml" &&
  grep -qx 'allow = \["10.20.0.0/16", "fd20::/48"\]' "$WORK/added.toml" ||
  fail "the appended table: $(cat "$WORK/added.toml")"
[[ $(stat -c %a "$WORK/connector.toml") == "$(stat -c %a "$WORK/before.toml")" ]] || fail "the file's mode changed"
"$WAYGATE" check -c "$WORK/connector.toml" >/dev/null || fail "the written file does not check"
grep -q "new socket 'home-exit' written to .* and applied" "$WORK/connector.log" || fail "not applied"
[[ $(admin /v1/sockets) == *'"name":"home-exit","type":"exit_node","description":"Created from the portal","connectors":["connector-1"]'* ]] ||
  fail "home-exit is not served: $(admin /v1/sockets)"
pass "the file keeps its text and comments, gains the new [[socket]] table, and is applied without a restart"

# A socket the file cannot take is refused with the loader's error, and nothing is written.
cp "$WORK/connector.toml" "$WORK/before.toml"
post() { admin /v1/sockets -X POST -H 'Content-Type: application/json' -w ' %{http_code}' "$@"; }
answer=$(post -d '{"name":"home-exit","description":"again"}')
[[ $answer == *"socket 'home-exit' is defined twice"*" 400" ]] || fail "a duplicate socket: $answer"
answer=$(post -d '{"name":"lan-exit","allow":["10.1.2.3/8"]}')
[[ $answer == *"key 'allow': '10.1.2.3/8' has bits set beyond its length"*" 400" ]] || fail "a bad prefix: $answer"
answer=$(post -d '{"name":"Not A Name"}')
[[ $answer == *"'name' may hold only"*" 400" ]] || fail "a bad name: $answer"
answer=$(post -d 'not json')
[[ $answer == *"JSON object"*" 400" ]] || fail "a body that is not JSON: $answer"
# What another site could make a browser send: a form's text, or JSON from elsewhere.
answer=$(admin /v1/sockets -X POST -H 'Content-Type: text/plain' -d '{"name":"csrf"}' -w ' %{http_code}')
[[ $answer == *" 415" ]] || fail "a change sent as text/plain: $answer"
answer=$(post -H 'Origin: http://evil.example' -d '{"name":"csrf"}')
[[ $answer == *" 403" ]] || fail "a change from another origin: $answer"
cmp -s "$WORK/connector.toml" "$WORK/before.toml" || fail "a refused socket changed the file"
[[ -z $(find "$WORK" -maxdepth 1 -name '.connector.toml.*') ]] || fail "a temporary file was left behind"
pass "refused sockets answer 400 with the reason (415 or 403 when not the portal's JSON) and leave the file as it was"

# A listener holds at most 256 connections: the ones beyond are closed at once, and it answers
# again once they are gone.
wait_for 45 test -s "$WORK/idle.txt" || fail "an idle connection was never closed"
idle=$(cat "$WORK/idle.txt")
((idle >= 25 && idle <= 45)) || fail "an idle connection was closed after $idle s (expected about 30)"
ip netns exec "$S" python3 -c '
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(300)]
time.sleep(1)
closed = 0
for c in held:
    c.settimeout(0.05)
    try:
        closed += c.recv(1) == b""
    except socket.timeout:
        pass
print(closed)
time.sleep(float(sys.argv[2]))
' "$PORT" 3 >"$WORK/bound.txt" &
bound_pid=$!
sleep 1.5
[[ $(status_of /healthz) == 000 ]] || fail "a 257th connection was answered"
wait "$bound_pid"
[[ $(cat "$WORK/bound.txt") == 44 ]] || fail "of 300 connections, $(cat "$WORK/bound.txt") were closed (expected 44)"
[[ $(status_of /healthz -H "Authorization: Bearer $TOKEN") == 200 ]] || fail "the listener does not answer once the connections are gone"
pass "idle connections close after ${idle} s; of 300 at once, the 44 beyond 256 are closed and the listener answers again after"

# A restart keeps the series: the samples before the stop are there after the start.
samples() {
  admin "/v1/stats/series?socket=corporate-exit" | python3 -c '
import json, sys
s = json.load(sys.stdin)["samples"]
print(len(s), s[0][0] if s else 0, sum(x[1] + x[2] for x in s))'
}
has_samples() { (($(samples | cut -d' ' -f1) >= 1)); }
wait_for 15 has_samples || fail "no sample in the series"
read -r count0 first0 moved0 <<<"$(samples)"
((moved0 > 0)) || fail "the series recorded no traffic"
stop_waygate
start_waygate "$WORK/connector.toml" "$WORK/connector2.log" "$S"
wait_for 10 listening "$S" "$PORT"
read -r count1 first1 moved1 <<<"$(samples)"
((count1 >= count0 && first1 == first0 && moved1 >= moved0)) ||
  fail "after a restart the series has $count1 samples from $first1 ($moved1 bytes); before: $count0 from $first0 ($moved0)"
pass "a restart keeps the series: $count0 sample(s) from $first0, $moved0 bytes"
stop_waygate

# Without a token, only requests to an IP address or localhost are answered: a name an attacker
# points at 127.0.0.1 (DNS rebinding) gets nothing.
grep -v '^admin_token_file' "$WORK/connector.toml" >"$WORK/open.toml"
start_waygate "$WORK/open.toml" "$WORK/connector3.log" "$S"
wait_for 10 listening "$S" "$PORT"
[[ $(status_of /v1/stats) == 200 && $(status_of /v1/stats -H "Host: localhost:$PORT") == 200 &&
   $(status_of /v1/stats -H "Host: evil.example:$PORT") == 403 && $(status_of / -H "Host: evil.example") == 403 ]] ||
  fail "the Host header is not checked without a token"
pass "without a token, requests to a host name (DNS rebinding) are refused"
stop_waygate

# Out of descriptors, a listener stops taking connections only while it is: a small host allowed
# 48 descriptors, 80 connections at once, and once they are gone it answers again.
SMALL=$(free_port)
printf '[host]\nadmin = "127.0.0.1:%s"\n[[stage]]\nname = "stats"\nplugin = "stats"\n' "$SMALL" >"$WORK/small.toml"
(ulimit -n 48 && exec "$WAYGATE" run -c "$WORK/small.toml") >"$WORK/small.log" 2>&1 &
small_pid=$!
PIDS+=("$small_pid")
wait_for 10 grep -q "admin API" "$WORK/small.log"
python3 -c '
import socket, sys, time
held = []
for _ in range(80):
    try:
        held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1))
    except OSError:
        pass
time.sleep(1)
' "$SMALL"
[[ $(curl -s -m 5 "http://127.0.0.1:$SMALL/healthz") == ok ]] || fail "after running out of descriptors the listener answers nobody"
kill -TERM "$small_pid"
wait "$small_pid" || fail "the small host exited with $? on SIGTERM"
pass "a listener out of descriptors takes connections again once they are free"
