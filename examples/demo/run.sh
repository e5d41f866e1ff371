#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs an exit node from configs/exit-node.toml
# between three network namespaces:
#
#   waygate-client 192.0.2.10 --- 192.0.2.1 waygate-connector 198.51.100.1 --- 198.51.100.80 waygate-outside
#
# alice's client (configs/client.toml: waygate's own; any stock WireGuard client works too) connects,
# lists the exit nodes she may use, selects corporate-exit, which installs its routes (0.0.0.0/1,
# 128.0.0.0/1, ::/1, 8000::/1, plus a bypass route to the connector) and its DNS server; then a
# page from the outside host tells which address it saw: the connector's. Everything it creates is removed on exit,
# Ctrl-C included. `--keep` leaves it running until Ctrl-C so you can poke at it. `--installed`
# runs the installed package instead (waygate from PATH, its configs from the package's
# examples), building nothing.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
[[ $(id -u) -eq 0 ]] || { echo "the demo creates network namespaces: run it as root"; exit 1; }

if [[ " $* " == *" --installed "* ]]; then
  waygate=$(command -v waygate) || { echo "--installed: no waygate on PATH (apt install ./waygate_*.deb)"; exit 1; }
  configs=/usr/share/waygate/examples
  echo "installed: $waygate, $configs"
else
  bash .ci/install-deps.sh
  bash .ci/build.sh build >/dev/null
  echo "built: build/waygate and build/plugins/"
  waygate=$top/build/waygate
  configs=$top/configs
fi

C=waygate-client S=waygate-connector O=waygate-outside
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in $C $S $O; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf /etc/netns/$C
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
step() { printf '\n== %s\n' "$*"; }
# (Background processes are started with ip netns exec itself, so that $! is theirs to stop.)
on() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

step "three namespaces: client, connector, outside host"
for ns in $C $S $O; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip link add wg-demo-c netns $C type veth peer name wg-demo-s netns $S
ip link add wg-demo-o netns $O type veth peer name wg-demo-e netns $S
ip -n $C addr add 192.0.2.10/24 dev wg-demo-c
ip -n $S addr add 192.0.2.1/24 dev wg-demo-s
ip -n $S addr add 198.51.100.1/24 dev wg-demo-e
ip -n $O addr add 198.51.100.80/24 dev wg-demo-o
for pair in "$C wg-demo-c" "$S wg-demo-s" "$S wg-demo-e" "$O wg-demo-o"; do
  read -r ns dev <<<"$pair"
  ip -n "$ns" link set "$dev" up
done
# The outside host's link behaves as a wire does (no oversized TCP segments handed across a veth).
on $O ethtool -K wg-demo-o tso off gso off >/dev/null 2>&1 || true

step "keys, and configs/exit-node.toml with them (its files moved into a scratch folder)"
(umask 077 && $waygate genkey >"$work/connector.key" && $waygate genkey >"$work/alice.key")
alice_pub=$($waygate pubkey <"$work/alice.key")
sed -e "s|/etc/waygate/|$work/|g" -e "s|/var/lib/waygate|$work/state|g" \
    -e "s|zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ=|$alice_pub|" \
    -e 's|interface = "eth0"|interface = "wg-demo-e"|' -e 's|"9.9.9.9"|"198.51.100.80"|' \
    -e 's|^dns = .*|&\nallow = ["198.51.100.0/24"]  # the demo'"'"'s outside network: documentation addresses, not the internet|' \
    "$configs/exit-node.toml" >"$work/exit-node.toml"
$waygate check -c "$work/exit-node.toml"

step "the connector: waygate run -c exit-node.toml (in $S)"
ip netns exec $S "$waygate" run -c "$work/exit-node.toml" >"$work/connector.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q running "$work/connector.log" && break; sleep 0.1; done
cat "$work/connector.log"

step "alice's client: waygate run -c client.toml (in $C), at her overlay address 10.64.0.2"
sed -e "s|/etc/waygate/|$work/|g" -e "s|/var/lib/waygate|$work/state|g" \
    -e "s|5lhC8LXGaHlN0ZUo8Vk6OpCn/Ri8KTG4OxF4nHEBvUw=|$($waygate pubkey <"$work/connector.key")|" \
    -e "s|198.51.100.1:51820|192.0.2.1:51820|" -e "s|client.key|alice.key|" "$configs/client.toml" >"$work/client.toml"
mkdir -p /etc/netns/$C   # her own resolver file, which ip netns exec mounts over /etc/resolv.conf
printf 'nameserver 192.0.2.53\n' >/etc/netns/$C/resolv.conf
ip netns exec $C "$waygate" run -c "$work/client.toml" >"$work/client.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q running "$work/client.log" && break; sleep 0.1; done
cat "$work/client.log"
client() { on $C "$waygate" client "$@" -c "$work/client.toml"; }
on $C ip route >"$work/routes.before"

step "which exit nodes may alice use? (waygate client exit-nodes: the connector's API, through the tunnel)"
client exit-nodes

step "use corporate-exit: the routes it hands out, the bypass to the connector, its DNS"
client use corporate-exit
on $C ip route get 198.51.100.80
echo "resolver: $(grep nameserver /etc/netns/$C/resolv.conf)"

step "a page from the outside host, which says whose address it saw"
cat >"$work/whoami.py" <<'PY'
import http.server
class Who(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello {self.client_address[0]}, this is the outside host\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("198.51.100.80", 8080), Who).serve_forever()
PY
ip netns exec $O python3 "$work/whoami.py" &
pids+=($!)
for _ in $(seq 50); do [[ -n $(on $O ss -Htln "sport = :8080") ]] && break; sleep 0.1; done
on $C curl -sS --noproxy '*' -m 5 http://198.51.100.80:8080/
echo "(198.51.100.1 is the connector's egress address: alice's own, 192.0.2.10, never left the tunnel)"

step "alice's side: waygate client status, and waygate client doctor (the troubleshooting list)"
# The socket's DNS server, on the outside host: it answers every query with an empty answer.
ip netns exec $O python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.80", 53))
while True:
    q, peer = s.recvfrom(512)
    s.sendto(q[:2] + bytes([q[2] | 0x80, 0x80]) + q[4:], peer)
' &
pids+=($!)
for _ in $(seq 50); do [[ -n $(on $O ss -Hlun "sport = :53") ]] && break; sleep 0.1; done
client status
client doctor || true

step "traffic per exit node and per client (waygate stats, from the connector's admin API)"
on $S "$waygate" stats

step "the troubleshooting list, checked (waygate doctor, on the connector, while alice pings)"
on $C ping -c 10 -i 0.2 198.51.100.80 >/dev/null 2>&1 &
on $S "$waygate" doctor -c "$work/exit-node.toml" --wait 1 || true
wait $! 2>/dev/null || true

step "who may use what (waygate access-graph), what the exit node reaches, and the connector's counters"
$waygate access-graph -c "$work/exit-node.toml"
$waygate access-graph -c "$work/exit-node.toml" --identity bob --socket corporate-exit || true
# The internet, and the outside network the demo allows; not the connector itself, nor a cloud's
# metadata service.
for to in 198.51.100.80 198.51.100.1 169.254.169.254; do
  on $S "$waygate" access-graph -c "$work/exit-node.toml" --socket corporate-exit --to $to || true
done
on $S curl -sS --noproxy '*' http://127.0.0.1:9190/metrics |
  grep -E '^waygate_(wireguard_(rx|tx)_bytes_total|nat_translations_total|egress_(rx|tx)_packets_total|policy_decisions_total|drops_total)' |
  grep -v ' 0$' || true
echo "audit log:"
cat "$work/state/audit.log"

step "waygate client off: alice's routing table exactly as it was before"
client off
on $C ip route | diff "$work/routes.before" - && echo "routes: as before"

if [[ " $* " == *" --keep "* ]]; then
  step "running; try: ip netns exec $C curl 198.51.100.80:8080 — Ctrl-C to stop"
  wait "${pids[0]}"
fi
