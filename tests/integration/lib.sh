# Helpers for namespace tests. Every name a test creates carries a suffix unique to the run, so
# tests run in parallel; everything is torn down on every exit path; the root namespace's routes,
# nftables and sysctls are never touched.
set -euo pipefail

WAYGATE=${1:?usage: $0 path/to/waygate}
# The test-only plugins (probe, wrong-abi, ...) are built beside the binary.
export WAYGATE_PLUGIN_PATH=${WAYGATE_PLUGIN_PATH:-$(cd "$(dirname "$WAYGATE")" && pwd)/tests/plugins}
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: namespace tests need root"
  exit 77
fi

# Short: interface names have 15 characters at most.
RUN_ID=$(printf '%04x%02x' $(($$ & 0xffff)) $((RANDOM & 0xff)))
WORK=$(mktemp -d)
PIDS=()

# cleanup [RC]: RC, or the status the script ends with.
cleanup() {
  local rc=${1:-$?}
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Every namespace carrying this run's id, and the files `ip netns exec` mounts into it
  # (/etc/netns/NAME/resolv.conf): new_ns runs in a command substitution, a subshell, so it cannot
  # record what it made in a variable of ours.
  for ns in $(ip netns list | awk -v id="$RUN_ID" '$1 ~ id "$" {print $1}'); do
    # What still runs inside: a background `ip netns exec` started in a subshell leaves its
    # command behind when the subshell, whose pid we hold, is killed.
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  if [[ $rc -ne 0 && -d $WORK ]]; then
    for f in "$WORK"/*.log; do [[ -f $f ]] && { echo "--- $f"; tail -n 40 "$f"; }; done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# new_ns NAME: creates namespace NAME-<run id> with loopback up; prints its full name.
new_ns() {
  local ns="wg$1$RUN_ID"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  echo "$ns"
}

# wait_for SECONDS COMMAND...: retries the command every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "timed out waiting for: $*"; return 1; }
    sleep 0.1
  done
}

# start_waygate CONFIG LOG [NETNS]: runs the host in the background (inside namespace NETNS if
# given) and waits until its devices exist.
start_waygate() {
  # Emptied here, not by the child's redirection: a restart into the same log would otherwise
  # find the last run's "running" before the child has truncated it.
  : >"$2"
  if [[ -n ${3:-} ]]; then ip netns exec "$3" "$WAYGATE" run -c "$1" >"$2" 2>&1 &
  else "$WAYGATE" run -c "$1" >"$2" 2>&1 &
  fi
  WAYGATE_PID=$!
  PIDS+=("$WAYGATE_PID")
  wait_for 10 grep -q "running" "$2"
}

# kill_hard PID: SIGKILL, and wait until the process is gone and its sockets are closed.
kill_hard() { kill -KILL "$1"; wait "$1" 2>/dev/null || true; }

# listening NS PORT: true once something in namespace NS listens on TCP port PORT.
listening() { [[ -n $(ip netns exec "$1" ss -Htln "sport = :$2") ]]; }

# three_hosts N: a client C, a connector S and an outside host O (namespaces; their names in C, S
# and O), joined by two veth pairs, the connector forwarding inside its own namespace:
#   C 10.N1.0.2 --- 10.N1.0.1 S 10.N2.0.1, fdN2::1 --- 10.N2.0.2, fdN2::2 O
three_hosts() {
  local n=$1 pair ns dev
  C=$(new_ns c)
  S=$(new_ns s)
  O=$(new_ns o)
  ip link add "vc$RUN_ID" netns "$C" type veth peer name "vs$RUN_ID" netns "$S"
  ip link add "vo$RUN_ID" netns "$O" type veth peer name "vt$RUN_ID" netns "$S"
  ip -n "$C" addr add "10.${n}1.0.2/24" dev "vc$RUN_ID"
  ip -n "$S" addr add "10.${n}1.0.1/24" dev "vs$RUN_ID"
  ip -n "$S" addr add "10.${n}2.0.1/24" dev "vt$RUN_ID"
  ip -n "$S" addr add "fd${n}2::1/64" dev "vt$RUN_ID" nodad
  ip -n "$O" addr add "10.${n}2.0.2/24" dev "vo$RUN_ID"
  ip -n "$O" addr add "fd${n}2::2/64" dev "vo$RUN_ID" nodad
  for pair in "$C vc" "$S vs" "$S vt" "$O vo"; do
    read -r ns dev <<<"$pair"
    ip -n "$ns" link set "$dev$RUN_ID" up
  done
  ip netns exec "$S" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# second_client N: a second client namespace D, joined to the connector S of three_hosts N:
#   D 10.N3.0.2 --- 10.N3.0.1 S
second_client() {
  D=$(new_ns d)
  ip link add "vd$RUN_ID" netns "$D" type veth peer name "ve$RUN_ID" netns "$S"
  ip -n "$D" addr add "10.${1}3.0.2/24" dev "vd$RUN_ID"
  ip -n "$S" addr add "10.${1}3.0.1/24" dev "ve$RUN_ID"
  ip -n "$D" link set "vd$RUN_ID" up
  ip -n "$S" link set "ve$RUN_ID" up
}

# wire_config FILE ADMIN LEFT_ADDRESSES RIGHT_ADDRESSES [LEFT_KEYS] [MIDDLE_STAGES]: writes a
# wire between namespaces $A and $B (devices wl<id>, wr<id>). Addresses are the inside of a TOML
# array ('"10.99.0.1/24", "fd99::1/64"'); LEFT_KEYS are extra lines for the left stage;
# MIDDLE_STAGES are [[stage]] tables placed between the two edges.
wire_config() {
  cat >"$1" <<TOML
[host]
admin = "$2"
[[stage]]
name = "left"
plugin = "tun"
netns = "$A"
device = "wl$RUN_ID"
address = [$3]
${5:-}
${6:-}
[[stage]]
name = "right"
plugin = "tun"
netns = "$B"
device = "wr$RUN_ID"
address = [$4]
TOML
}

# A free TCP port on loopback for the admin API.
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    [[ -n $(ss -Htln "sport = :$port") ]] || { echo "$port"; return; }
  done
  return 1
}

# wg_key NAME: a private key file $WORK/NAME.key (mode 600) from waygate, and its public key in
# $WORK/NAME.pub from wg: the two tools' formats are one.
wg_key() {
  (umask 077 && "$WAYGATE" genkey >"$WORK/$1.key")
  wg pubkey <"$WORK/$1.key" >"$WORK/$1.pub"
}

# wireguard_go NS IFACE: Debian's wireguard-go in namespace NS as interface IFACE (its control
# socket is named after IFACE, so IFACE must be unique to the run); its pid in GO_PID.
wireguard_go() {
  ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2" >"$WORK/$2.log" 2>&1 &
  GO_PID=$!
  PIDS+=("$GO_PID")
  wait_for 5 ip -n "$1" link show "$2"
}

# tcp_bulk NS send|receive listen=ADDRESS|ADDRESS FILE: one TCP connection on port 9100, accepted
# on ADDRESS or made to it; the sender sends FILE, the receiver prints the SHA-256 of what came.
tcp_bulk() {
  ip netns exec "$1" timeout 30 python3 -c '
import hashlib, socket, sys
role, where, path = sys.argv[1:4]
if where.startswith("listen="):
    at = where[len("listen="):]
    c, _ = socket.create_server((at, 9100), family=socket.AF_INET6 if ":" in at else socket.AF_INET).accept()
else:
    c = socket.create_connection((where, 9100), timeout=10)
if role == "send":
    c.sendall(open(path, "rb").read()); c.shutdown(socket.SHUT_WR); c.recv(1)
else:
    h, n = hashlib.sha256(), 0
    c.settimeout(10)
    try:
        while data := c.recv(1 << 16):
            h.update(data)
            n += len(data)
    except TimeoutError:
        sys.exit(f"stalled after {n} bytes")
    print(h.hexdigest())' "$2" "$3" "$4"
}

# udp_datagrams NS send|segmented|receive ADDRESS PORT: numbered datagrams of 1200 bytes, each
# with a body its number fixes. send: 3000, in bursts of 64; segmented: 2000, 40 a send as QUIC
# sends them (UDP_SEGMENT); receive: until 3 s pass without one, then prints "GOOD BAD" counted.
udp_datagrams() {
  ip netns exec "$1" timeout 30 python3 -c '
import socket, sys, time
role, at, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in at else socket.AF_INET, socket.SOCK_DGRAM)
body = lambda seq: seq.to_bytes(4, "big") + bytes((seq + i) & 0xff for i in range(1196))
if role == "send":
    for seq in range(3000):
        s.sendto(body(seq), (at, port))
        if seq % 64 == 63: time.sleep(0.005)
elif role == "segmented":
    s.setsockopt(socket.IPPROTO_UDP, 103, 1200)  # UDP_SEGMENT
    for send in range(50):
        s.sendto(b"".join(body(40 * send + k) for k in range(40)), (at, port))
        time.sleep(0.005)
else:
    s.bind((at, port)); s.settimeout(3)
    good = bad = 0
    try:
        while True:
            data = s.recv(2048)
            good, bad = (good + 1, bad) if data == body(int.from_bytes(data[:4], "big")) else (good, bad + 1)
    except TimeoutError:
        print(good, bad)' "$2" "$3" "$4"
}

# Succeeds where the kernel takes UDP trains through a TUN device (USO: Linux 6.2 or later).
kernel_takes_udp_trains() {
  python3 -c 'import os, sys; sys.exit(tuple(map(int, os.uname().release.split(".")[:2])) < (6, 2))'
}

pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }

# tunnel_stage N: prints the connector's [[stage]] "tunnel": wireguard in $S on port 51820 with
# key $WORK/server.key, and exit_client N's laptop as its one peer.
tunnel_stage() {
  cat <<TOML
[[stage]]
name = "tunnel"
plugin = "wireguard"
netns = "$S"
listen_port = 51820
private_key_file = "$WORK/server.key"
[[stage.peer]]
name = "laptop"
public_key = "$(cat "$WORK/client.pub")"
allowed_ips = ["10.${1}0.0.2/32", "fd${1}0::2/128"]
TOML
}

# exit_connector N HOST_KEYS [IDENTITIES] [NAT_KEYS] [MIDDLE_STAGES]: prints a connector's config for
# three_hosts N: identity "laptop" ($WORK/client.pub) and the [[identity]] tables IDENTITIES, the
# exit node "exit" on 10.N2.0.1 and fdN2::1 that a policy grants everyone (and that reaches the
# outside network, private as test networks are), and the pipeline tunnel (port 51820,
# $WORK/server.key, every identity a peer) -> policy -> MIDDLE_STAGES -> nat (ports 40000-40999
# in blocks of 64, and NAT_KEYS) -> egress on vt<id>. HOST_KEYS are the lines of [host].
exit_connector() {
  cat <<TOML
[host]
$2
[overlay]
pool4 = "10.${1}0.0.0/24"
pool6 = "fd${1}0::/64"
[[identity]]
name = "laptop"
public_key = "$(cat "$WORK/client.pub")"
${3:-}
[[socket]]
name = "exit"
type = "exit_node"
egress = ["10.${1}2.0.1", "fd${1}2::1"]
egress_ports = "40000-40999"
allow = ["10.${1}2.0.0/24", "fd${1}2::/64"]  # the outside host's private network: not the internet
[[policy]]
name = "all"
organization_wide = true
permissions = ["network"]
[[stage]]
name = "tunnel"
plugin = "wireguard"
listen_port = 51820
private_key_file = "$WORK/server.key"
identities = true
[[stage]]
name = "policy"
plugin = "policy"
${5:-}
[[stage]]
name = "nat"
plugin = "nat"
block_size = 64
${4:-}
[[stage]]
name = "egress"
plugin = "egress"
interface = "vt$RUN_ID"
TOML
}

# exit_client N: the client namespace $C as an exit node's client: wireguard-go (interface gc<id>)
# with key $WORK/client.key, peer $WORK/server.pub at 10.N1.0.1:51820, addresses 10.N0.0.2 and
# fdN0::2, and the exit-node routes as a client installs them (never clashing with its own
# default route).
exit_client() {
  exit_peer "$C" c "10.${1}1.0.1" "10.${1}0.0.2" "fd${1}0::2" "$WORK/client.key"
}

# exit_peer NS NAME ENDPOINT ADDRESS4 ADDRESS6 [KEY]: a wireguard-go client in NS (interface
# g<NAME><id>) for identity NAME: key KEY ($WORK/NAME.key), the connector $WORK/server.pub at
# ENDPOINT:51820, its overlay addresses, and the exit node's routes (installed by hand: a client
# the connector offers none to gets them too, to show its packets go nowhere).
exit_peer() {
  local iface="g$2$RUN_ID" prefix
  wireguard_go "$1" "$iface"
  ip netns exec "$1" wg set "$iface" private-key "${6:-$WORK/$2.key}" \
    peer "$(cat "$WORK/server.pub")" endpoint "$3:51820" allowed-ips 0.0.0.0/0,::/0
  ip -n "$1" addr add "$4/32" dev "$iface"
  ip -n "$1" addr add "$5/128" dev "$iface" nodad
  ip -n "$1" link set "$iface" up mtu 1420
  for prefix in 0.0.0.0/1 128.0.0.0/1 ::/1 8000::/1; do ip -n "$1" route add "$prefix" dev "$iface"; done
}

# exit_traffic N FAMILY EGRESS: from the client through the exit to the outside host 10.N2.0.2 or
# fdN2::2 (FAMILY 4 or 6): ICMP echo, TCP (curl to a python http.server) and UDP (an echo of the
# sender's address); the outside host must see only EGRESS as the source.
exit_traffic() {
  local n=$1 family=$2 egress=$3 out url seen
  out=$([[ $family == 4 ]] && echo "10.${n}2.0.2" || echo "fd${n}2::2")
  url=$([[ $family == 4 ]] && echo "http://$out:808$family/" || echo "http://[$out]:808$family/")

  ip netns exec "$C" ping "-$family" -c 3 -i 0.2 -W 3 "$out" >/dev/null || fail "ping over IPv$family through the exit"
  pass "ICMP over IPv$family reaches the outside host (which has no route to the client: only translated packets get answers)"

  (cd "$WORK" && exec ip netns exec "$O" python3 -m http.server "808$family" --bind "$out" >"$WORK/http$family.log" 2>&1) &
  PIDS+=($!)
  wait_for 5 listening "$O" "808$family"
  ip netns exec "$C" curl -sS -g --noproxy '*' -f -o /dev/null "$url" 2>"$WORK/curl.log" || fail "HTTP over IPv$family: $(cat "$WORK/curl.log")"
  grep -q "^$egress - - " "$WORK/http$family.log" || fail "the outside host saw $(cut -d' ' -f1 "$WORK/http$family.log")"
  pass "TCP over IPv$family: the outside host saw only $egress"

  udp_echo "$O" "$out" $((9000 + family))
  seen=$(udp_whoami "$C" "$out" $((9000 + family))) || fail "UDP over IPv$family got no answer"
  seen=${seen% *}
  [[ $seen == "$egress" ]] || fail "UDP over IPv$family: the outside host saw $seen"
  pass "UDP over IPv$family: the outside host saw only $egress, and its answer came back"
}

# cpu_ticks NAME: user + system time of the running host's ($WAYGATE_PID) thread NAME ("worker 0"),
# in clock ticks; 0 if it has none.
cpu_ticks() {
  for task in /proc/"$WAYGATE_PID"/task/*; do
    [[ $(cat "$task/comm") == "$1" ]] || continue
    awk '{sub(/^.*\) /, ""); print $12 + $13}' "$task/stat"
    return
  done
  echo 0
}

# udp_echo NS ADDRESS PORT: a UDP echo in NS that answers each datagram with the address and port
# it came from, as the echo saw them ("10.12.0.1 40000"), in the background.
udp_echo() {
  ip netns exec "$1" timeout 60 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(100)
    s.sendto(("%s %d" % peer[:2]).encode(), peer)
' "$2" "$3" >/dev/null 2>&1 &
  PIDS+=($!)
}

# udp_whoami NS ADDRESS PORT: from NS (one socket, so one NAT session), what the echo at ADDRESS
# saw of it: "address port". It asks again every half second, as a resolver would, so one datagram
# lost on a busy machine (or sent before the echo listens) is not a failure; fails after 6 s.
udp_whoami() {
  ip netns exec "$1" timeout 8 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(12):
    s.sendto(b"who am i", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recvfrom(100)[0].decode())
        break
    except TimeoutError:
        pass
else:
    sys.exit(1)
' "$2" "$3"
}

# etcd_cluster: a three-member etcd cluster in a new namespace $E, on 127.0.0.1:2371-2373 (peers
# 2381-2383; clients also on its other addresses), data in $WORK/mN. Sets ETCD (the members as --etcd takes them) and ETCD_PID_N, and
# waits until it is healthy. etcd_member N starts member N (again, from its data). ETCD_FLAGS: more
# of etcd's flags for every member.
etcd_cluster() {
  E=$(new_ns e)
  ETCD=http://127.0.0.1:2371,http://127.0.0.1:2372,http://127.0.0.1:2373
  for m in 1 2 3; do etcd_member "$m"; done
  wait_for 20 etcdctl_ endpoint health || fail "the etcd cluster did not come up"
}
etcd_member() {
  ip netns exec "$E" etcd --name "m$1" --data-dir "$WORK/m$1" \
    --listen-client-urls "http://0.0.0.0:237$1" --advertise-client-urls "http://127.0.0.1:237$1" \
    --listen-peer-urls "http://127.0.0.1:238$1" --initial-advertise-peer-urls "http://127.0.0.1:238$1" \
    --initial-cluster m1=http://127.0.0.1:2381,m2=http://127.0.0.1:2382,m3=http://127.0.0.1:2383 \
    --initial-cluster-state new --initial-cluster-token "t$RUN_ID" ${ETCD_FLAGS:-} >>"$WORK/etcd-m$1.log" 2>&1 &
  PIDS+=($!)
  eval "ETCD_PID_$1=$!"
}
# etcd_connector ADMIN STATE_DIR NAME: a connector's file whose directory is the cluster's, with
# one stats stage (which lists the directory's identities on /v1/stats).
etcd_connector() {
  cat <<TOML
[host]
admin = "$1"
state_dir = "$2"
[directory]
etcd = ["http://127.0.0.1:2371", "http://127.0.0.1:2372", "http://127.0.0.1:2373"]
connector = "$3"
[[stage]]
name = "stats"
plugin = "stats"
TOML
}
# etcdctl_ ARGS...: etcdctl (v3) on the cluster, in its namespace.
etcdctl_() { ip netns exec "$E" env ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:2371,127.0.0.1:2372,127.0.0.1:2373 "$@"; }

# stop_waygate: SIGTERM, and wait until it has cleaned up and exited.
stop_waygate() {
  kill -TERM "$WAYGATE_PID"
  wait "$WAYGATE_PID" || fail "waygate exited with status $? on SIGTERM"
}
