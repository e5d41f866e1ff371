#!/usr/bin/env bash
# The second demo: one exit node served by two connectors under one directory in etcd, and alice's
# client failing over between them.
#
#                  .-- 192.0.2.1  waygate-ha-c1 198.51.100.1 --.
#   waygate-ha-client                                           waygate-ha-outside 198.51.100.80
#                  '-- 192.0.2.129 waygate-ha-c2 198.51.100.129 -'
#   (both connectors reach etcd in waygate-ha-etcd at 203.0.113.1 and .129)
#
# The directory is pushed once (`waygate directory push`); both connectors read it, register under
# a lease (`waygate connectors`), and apply a change of policy pushed once. alice's client has both
# as tunnel peers taking turns (`failover_after`): `waygate client use` picks the quicker; then the
# connector in use is killed while she pings every 100 ms, and her traffic goes on through the other
# one, now leaving from its egress address. Everything it creates is removed on exit, Ctrl-C too.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
[[ $(id -u) -eq 0 ]] || { echo "the demo creates network namespaces: run it as root"; exit 1; }

bash .ci/install-deps.sh
bash .ci/build.sh build >/dev/null
echo "built: build/waygate and build/plugins/"
waygate=$top/build/waygate

C=waygate-ha-client C1=waygate-ha-c1 C2=waygate-ha-c2 O=waygate-ha-outside E=waygate-ha-etcd
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in $C $C1 $C2 $O $E; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
step() { printf '\n== %s\n' "$*"; }
on() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
wait_log() { for _ in $(seq 100); do grep -q "$2" "$1" && return; sleep 0.1; done; cat "$1"; return 1; }

step "five namespaces: alice's client, two connectors, the outside host, etcd"
for ns in $C $C1 $C2 $O $E; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
# link NS_A DEV_A ADDRESS_A NS_B DEV_B ADDRESS_B (a /25 each)
link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3/25" dev "$2"
  ip -n "$4" addr add "$6/25" dev "$5"
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
}
link $C wg-ha-a 192.0.2.10 $C1 wg-ha-a1 192.0.2.1
link $C wg-ha-b 192.0.2.138 $C2 wg-ha-b2 192.0.2.129
link $C1 wg-ha-o1 198.51.100.1 $O wg-ha-x1 198.51.100.80
link $C2 wg-ha-o2 198.51.100.129 $O wg-ha-x2 198.51.100.200
link $C1 wg-ha-e1 203.0.113.2 $E wg-ha-f1 203.0.113.1
link $C2 wg-ha-e2 203.0.113.130 $E wg-ha-f2 203.0.113.129
ip -n $C2 route add 198.51.100.0/25 via 198.51.100.200
for dev in wg-ha-x1 wg-ha-x2; do on $O ethtool -K $dev tso off gso off >/dev/null 2>&1 || true; done

step "etcd (one member here; three in production), in $E"
ip netns exec $E etcd --name demo --data-dir "$work/etcd" --listen-client-urls http://0.0.0.0:2379 \
  --advertise-client-urls http://203.0.113.1:2379 --listen-peer-urls http://127.0.0.1:2380 >"$work/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do on $E env ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:2379 endpoint health >/dev/null 2>&1 && break; sleep 0.1; done

step "the directory, from configs/exit-node.toml, with corporate-exit on two connectors: waygate directory push"
(umask 077 && for k in c1 c2 alice; do $waygate genkey >"$work/$k.key"; done)
alice_pub=$($waygate pubkey <"$work/alice.key")
sed -n '/^\[overlay\]/,/^# ---- The pipeline/p' configs/exit-node.toml |
  sed -e "s|zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ=|$alice_pub|" \
      -e 's|^connector = "connector-1"|connectors = ["connector-1", "connector-2"]|' \
      -e '/^egress = /d' -e '/^egress_ports = /d' -e 's|"9.9.9.9"|"198.51.100.80"|' \
      -e 's|^dns = .*|&\nallow = ["198.51.100.0/24"]  # the outside network: documentation addresses, not the internet|' \
      >"$work/directory.toml"
on $E "$waygate" directory push -c "$work/directory.toml" --etcd http://127.0.0.1:2379

# connector N CLIENT_SIDE EGRESS OUTSIDE_DEV ETCD: its own tunnel key, endpoint and egress address;
# the directory from etcd.
connector() {
  cat <<TOML
[host]
state_dir = "$work/state$1"
api = ["10.64.0.1:80"]
[directory]
etcd = ["http://$5:2379"]
connector = "connector-$1"
[[stage]]
name = "tunnel"
plugin = "wireguard"
listen_port = 51820
public_endpoint = "$2:51820"
private_key_file = "$work/c$1.key"
identities = true
[[stage]]
name = "api"
plugin = "tun"
device = "waygate-api"
address = ["10.64.0.1/24"]
take = ["10.64.0.1/32"]
[[stage]]
name = "policy"
plugin = "policy"
[[stage]]
name = "stats"
plugin = "stats"
[[stage]]
name = "nat"
plugin = "nat"
[[stage.socket]]
id = 0
egress4 = "$3"
[[stage]]
name = "egress"
plugin = "egress"
interface = "$4"
egress4 = ["$3"]
TOML
}
step "two connectors, each with its own key, endpoint and egress address; the rest from etcd"
connector 1 192.0.2.1 198.51.100.1 wg-ha-o1 203.0.113.1 >"$work/c1.toml"
connector 2 192.0.2.129 198.51.100.129 wg-ha-o2 203.0.113.129 >"$work/c2.toml"
ip netns exec $C1 "$waygate" run -c "$work/c1.toml" >"$work/c1.log" 2>&1 &
pids+=($!)
c1=$!
ip netns exec $C2 "$waygate" run -c "$work/c2.toml" >"$work/c2.log" 2>&1 &
pids+=($!)
c2=$!
wait_log "$work/c1.log" running
wait_log "$work/c2.log" running
sleep 4  # a renewal of each one's lease
on $E "$waygate" connectors --etcd http://127.0.0.1:2379

step "alice's client: both connectors as tunnel peers, taking turns (failover_after)"
cat >"$work/client.toml" <<TOML
[host]
admin = "127.0.0.1:9191"
[[stage]]
name = "device"
plugin = "tun"
device = "waygate0"
address = ["10.64.0.2/24"]
[[stage]]
name = "exit"
plugin = "client"
device = "waygate0"
state = "$work/selection.json"
resolv_conf = "$work/resolv.conf"
[[stage.connector]]
name = "connector-1"
api = "10.64.0.1"
[[stage.connector]]
name = "connector-2"
api = "10.64.0.1"
[[stage]]
name = "tunnel"
plugin = "wireguard"
private_key_file = "$work/alice.key"
failover_after = "1s"
[[stage.peer]]
name = "connector-1"
public_key = "$($waygate pubkey <"$work/c1.key")"
endpoint = "192.0.2.1:51820"
allowed_ips = ["0.0.0.0/0"]
persistent_keepalive = "1s"
[[stage.peer]]
name = "connector-2"
public_key = "$($waygate pubkey <"$work/c2.key")"
endpoint = "192.0.2.129:51820"
allowed_ips = ["0.0.0.0/0"]
persistent_keepalive = "1s"
TOML
printf 'nameserver 192.0.2.53\n' >"$work/resolv.conf"
ip netns exec $C "$waygate" run -c "$work/client.toml" >"$work/client.log" 2>&1 &
pids+=($!)
wait_log "$work/client.log" running
client() { on $C "$waygate" client "$@" -c "$work/client.toml"; }
sleep 2  # a handshake with each: their round trips
client exit-nodes
client use corporate-exit
client status

step "a page from the outside host, which says whose address it saw"
cat >"$work/whoami.py" <<'PY'
import http.server
class Who(http.server.ThreadingHTTPServer):
    pass
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello {self.client_address[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
Who(("198.51.100.80", 8080), Handler).serve_forever()
PY
ip netns exec $O python3 "$work/whoami.py" &
pids+=($!)
for _ in $(seq 50); do [[ -n $(on $O ss -Htln "sport = :8080") ]] && break; sleep 0.1; done
on $C curl -sS -m 5 http://198.51.100.80:8080/

step "a change of policy pushed once reaches both: bob (a contractor) may use it too"
sed '/^\[\[policy\]\]/,$ s|^groups = \["staff"\]$|groups = ["staff", "contractors"]|' "$work/directory.toml" >"$work/more.toml"
on $E "$waygate" directory diff -c "$work/more.toml" --etcd http://127.0.0.1:2379
on $E "$waygate" directory push -c "$work/more.toml" --etcd http://127.0.0.1:2379
sleep 1
for n in 1 2; do echo "connector-$n: $(grep 'reload: applied' "$work/c$n.log" | tail -1)"; done

step "the connector in use killed (SIGKILL) while alice pings every 100 ms"
in_use=$(sed -n 's/.*"connector":"\(connector-[12]\)".*/\1/p' "$work/selection.json")
on $C ping -i 0.1 -c 100 -W 1 198.51.100.80 >"$work/ping.log" 2>&1 &
ping=$!
sleep 2
echo "kill -9 $in_use"
kill -KILL "$([[ $in_use == connector-1 ]] && echo $c1 || echo $c2)"
wait $ping || true
tail -2 "$work/ping.log"
grep -o 'peer .* silent.*' "$work/client.log" || true
on $C curl -sS -m 5 http://198.51.100.80:8080/
client status
sleep 10  # its lease lapses
on $E "$waygate" connectors --etcd http://127.0.0.1:2379

if [[ ${1:-} == --keep ]]; then
  step "running; try: ip netns exec $C curl 198.51.100.80:8080 — Ctrl-C to stop"
  wait "${pids[0]}"
fi
