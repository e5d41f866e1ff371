#!/usr/bin/env bash
# An exit node hands out the internet, not the connector's networks. The connector is shaped like
# a cloud machine: its egress interface sits on a private subnet that also holds a neighbour host
# and the cloud's metadata service at 169.254.169.254, and its public (egress) address sits inside
# the network it lets clients reach. Two permitted clients (wireguard-go) use the exit node:
#
#   alice (C) 10.31.0.2 --+                           +-- 10.32.0.2 neighbour, 169.254.169.254 metadata (O)
#                         +-- connector (S) 10.32.0.1 |   203.0.113.80 "the internet" behind it, on O
#   bob   (D) 10.33.0.2 --+   egress 203.0.113.1 -----+
#
# 203.0.113.0/24 is a documentation network, so not the internet either: the socket allows it, as
# a test must. alice reaches the outside host at 203.0.113.80 (seen as the egress address), and
# neither the neighbour, the metadata service, the connector's own services (on its egress address,
# its private address, or an address added while it runs), nor bob's overlay address: each of
# those packets is a not_internet drop counted for the socket and for alice.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }

three_hosts 3
second_client 3
# The connector's public address, and the cloud's side of the subnet: the metadata service on
# link-local, the outside world behind the neighbour (its gateway).
ip -n "$S" addr add 203.0.113.1/32 dev "vt$RUN_ID"
ip -n "$S" route add 169.254.169.254/32 dev "vt$RUN_ID"
ip -n "$S" route add 203.0.113.80/32 via 10.32.0.2
ip -n "$O" addr add 169.254.169.254/16 dev "vo$RUN_ID"
ip -n "$O" addr add 203.0.113.80/32 dev lo
ip -n "$O" route add 203.0.113.1/32 via 10.32.0.1

wg_key server
wg_key alice
wg_key bob
ADMIN=127.0.0.1:9190
cat >"$WORK/connector.toml" <<TOML
[host]
admin = "$ADMIN"
api = ["10.30.0.1:80"]
[overlay]
pool4 = "10.30.0.0/24"
pool6 = "fd30::/64"
[[identity]]
name = "alice"
public_key = "$(cat "$WORK/alice.pub")"
[[identity]]
name = "bob"
public_key = "$(cat "$WORK/bob.pub")"
[[socket]]
name = "cloud-exit"
type = "exit_node"
egress = ["203.0.113.1"]
egress_ports = "40000-40999"
allow = ["203.0.113.0/24"]  # the test's internet: a documentation network, so allowed by name
[[policy]]
name = "everyone"
organization_wide = true
permissions = ["network"]
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
address = ["10.30.0.1/24", "fd30::1/64"]
take = ["10.30.0.1/32", "fd30::1/128"]
[[stage]]
name = "policy"
plugin = "policy"
[[stage]]
name = "nat"
plugin = "nat"
block_size = 64
[[stage]]
name = "egress"
plugin = "egress"
interface = "vt$RUN_ID"
TOML
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"

exit_peer "$C" alice 10.31.0.1 10.30.0.2 fd30::2
exit_peer "$D" bob 10.33.0.1 10.30.0.3 fd30::3

# A web server on the outside host answers on every address it has (the internet's, the
# neighbour's, the metadata service's); another on the connector stands for its own services.
(cd "$WORK" && exec ip netns exec "$O" python3 -m http.server 8080 >"$WORK/outside.log" 2>&1) &
PIDS+=($!)
(cd "$WORK" && exec ip netns exec "$S" python3 -m http.server 8081 >"$WORK/own.log" 2>&1) &
PIDS+=($!)
wait_for 5 listening "$O" 8080
wait_for 5 listening "$S" 8081
# Each of them answers from where it stands: the test means what it says.
ip netns exec "$S" curl -sS -m 3 -f -o /dev/null http://10.32.0.2:8080/ || fail "the neighbour does not answer the connector"
ip netns exec "$S" curl -sS -m 3 -f -o /dev/null http://169.254.169.254:8080/ || fail "no metadata service on the subnet"
ip netns exec "$S" curl -sS -m 3 -f -o /dev/null http://203.0.113.1:8081/ || fail "the connector's own service does not answer"

fetch() { ip netns exec "$C" curl -sS --noproxy '*' -m "${2:-5}" -f -o /dev/null "$1" 2>/dev/null; }
drops() {  # SERIES LABEL: the not_internet drops of the policy stage, for a socket or an identity
  ip netns exec "$S" curl -sS -m 5 "http://$ADMIN/metrics" |
    awk -v s="$1" -v l="$2" '$1 ~ "^" s "{" && index($1, l) && index($1, "stage=\"policy\"") && index($1, "reason=\"not_internet\"") {n += $2}
                             END {print n + 0}'
}

probed=$(wc -l <"$WORK/outside.log")
wait_for 10 fetch http://203.0.113.80:8080/ || fail "alice cannot fetch from the internet through the exit node"
seen=$(tail -n +$((probed + 1)) "$WORK/outside.log" | awk '/ - - / {print $1}' | sort -u)
[[ $seen == 203.0.113.1 ]] || fail "the outside host saw '$seen', not the egress address"
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 203.0.113.80 >/dev/null || fail "alice cannot ping the internet"
pass "alice reaches the internet's 203.0.113.80, which sees only the egress address 203.0.113.1"

before=$(drops waygate_identity_drops_total 'identity="alice"')
probed=$(wc -l <"$WORK/own.log")
fetch http://10.32.0.2:8080/ 2 && fail "alice reached the neighbour on the connector's subnet"
fetch http://169.254.169.254:8080/ 2 && fail "alice reached the cloud's metadata service"
fetch http://203.0.113.1:8081/ 2 && fail "alice reached the connector's service on its egress address"
fetch http://10.32.0.1:8081/ 2 && fail "alice reached the connector's service on its private address"
ip netns exec "$C" ping -c 1 -W 1 10.30.0.3 >/dev/null && fail "alice reached bob's overlay address"
ip netns exec "$C" ping -6 -c 1 -W 1 fd30::3 >/dev/null && fail "alice reached bob's overlay address over IPv6"
ip netns exec "$C" ping -6 -c 1 -W 1 fd32::2 >/dev/null && fail "alice reached the neighbour's IPv6 address"
(($(wc -l <"$WORK/own.log") == probed)) || fail "the connector's own service saw alice: $(tail -n 2 "$WORK/own.log")"
after=$(drops waygate_identity_drops_total 'identity="alice"')
# Each of the four fetches sent at least one SYN, each ping one echo request.
((after - before >= 7)) || fail "alice's not_internet drops went from $before to $after, expected at least 7 more"
socket_drops=$(drops waygate_socket_drops_total 'socket="cloud-exit"')
((socket_drops >= after)) || fail "the socket counts $socket_drops not_internet drops, alice alone $after"
pass "neither the neighbour, the metadata service, the connector's services nor bob: $((after - before)) packets dropped as not_internet, counted for cloud-exit and alice"

# An address the connector gains while it runs is its own at once: the policy stage follows the
# kernel's address changes.
ip -n "$S" addr add 203.0.113.2/32 dev lo
before=$(drops waygate_identity_drops_total 'identity="alice"')
new_address_dropped() {
  fetch http://203.0.113.2:8081/ 1 && return 1
  (($(drops waygate_identity_drops_total 'identity="alice"') > before))
}
wait_for 5 new_address_dropped || fail "a packet to the connector's new address 203.0.113.2 was not dropped as not_internet"
grep -q "the connector's addresses changed" "$WORK/connector.log" || fail "the address change was not noticed"
pass "an address added to the connector while it runs is kept out at once"

# Why, in words: the access graph on the admin API and as a command, and what the socket reaches.
why=$(ip netns exec "$S" curl -sS -m 5 "http://$ADMIN/v1/access-graph?identity=alice&socket=cloud-exit&to=169.254.169.254")
[[ $why == *'"granted":true'*'"reached":false,"reach":"169.254.0.0/16 is Link Local (RFC 3927), not globally reachable"'* ]] ||
  fail "admin why-not: $why"
set +e
why=$(ip netns exec "$S" "$WAYGATE" access-graph -c "$WORK/connector.toml" --socket cloud-exit --to 203.0.113.1)
status=$?
set -e
[[ $status == 3 && $why == "cloud-exit -> 203.0.113.1: not reached: 203.0.113.1 is an address of the connector itself" ]] ||
  fail "access-graph --to (status $status): $why"
reaches=$(ip netns exec "$S" curl -sS -m 5 "http://$ADMIN/v1/sockets")
[[ $reaches == *'"reaches":"the internet, and 203.0.113.0/24; not the overlay (10.30.0.0/24, fd30::/64), the connector'"'"'s own '* ]] ||
  fail "/v1/sockets: $reaches"
doctor=$(ip netns exec "$S" "$WAYGATE" doctor -c "$WORK/connector.toml" --wait 0.5 2>&1 || true)
[[ $doctor == *"pass cloud-exit reaches: the internet, and 203.0.113.0/24; not the overlay"* ]] || fail "doctor: $doctor"
pass "the access graph says why not ($why), the admin API and the doctor what cloud-exit reaches"
[[ $doctor == *"pass tunnel socket: no datagram dropped at its receive buffer"* ]] || fail "doctor, tunnel socket: $doctor"

# A worker that does not read its tunnel socket in time (stopped here) loses datagrams at the
# socket's receive buffer; the doctor says how many and what to do.
kill -STOP "$WAYGATE_PID"
ip netns exec "$C" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3000): s.sendto(b"\x04" + bytes(1399), ("10.31.0.1", 51820))'
kill -CONT "$WAYGATE_PID"
doctor=$(ip netns exec "$S" "$WAYGATE" doctor -c "$WORK/connector.toml" --wait 0.5 2>&1 || true)
line=$(grep "tunnel socket" <<<"$doctor" || true)
[[ $line =~ ^"warn tunnel socket: "([0-9]+)" datagrams dropped at its full receive buffer since it opened (0 in the last 0.5 s)" ]] ||
  fail "doctor after a stall: $doctor"
((BASH_REMATCH[1] > 1000)) || fail "only ${BASH_REMATCH[1]} of 3000 datagrams dropped while the worker was stopped"
[[ $doctor == *"[host] nice = -10"* ]] || fail "the doctor's hint: $doctor"
wait_for 10 fetch http://203.0.113.80:8080/ || fail "alice cannot fetch from the internet after the stall"
pass "the doctor counts the datagrams the tunnel socket dropped while the worker stalled: $line"
