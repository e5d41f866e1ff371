#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs configs/wire.toml between two network
# namespaces — ping and an HTTP download cross Waygate's io_uring data plane, then its metrics are
# shown. Everything it creates is removed on exit, Ctrl-C included. `--keep` leaves it running
# until Ctrl-C so you can poke at it (ip netns exec waygate-a ping 10.90.0.2).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
[[ $(id -u) -eq 0 ]] || { echo "the demo creates network namespaces: run it as root"; exit 1; }

bash .ci/install-deps.sh
bash .ci/build.sh build >/dev/null
echo "built: build/waygate and build/plugins/"

work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns del waygate-a 2>/dev/null || true
  ip netns del waygate-b 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ns in waygate-a waygate-b; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done

echo "== starting: build/waygate run -c configs/wire.toml"
build/waygate run -c configs/wire.toml >"$work/waygate.log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q running "$work/waygate.log" && break; sleep 0.1; done
cat "$work/waygate.log"

echo "== ping from waygate-a to waygate-b, IPv4 and IPv6"
ip netns exec waygate-a ping -c 3 -i 0.2 10.90.0.2
sleep 1  # IPv6 duplicate address detection
ip netns exec waygate-a ping -c 3 -i 0.2 fd90::2

echo "== an HTTP download through the wire"
head -c 10M /dev/urandom >"$work/blob"
(cd "$work" && exec ip netns exec waygate-b python3 -m http.server 8080 --bind 10.90.0.2 >/dev/null 2>&1) &
web=$!
for _ in $(seq 50); do ip netns exec waygate-b ss -Htln "sport = :8080" | grep -q . && break; sleep 0.1; done
ip netns exec waygate-a curl -s --noproxy '*' -o "$work/got" -w 'downloaded %{size_download} bytes at %{speed_download} B/s\n' http://10.90.0.2:8080/blob
cmp "$work/blob" "$work/got" && echo "identical at both ends"
kill "$web"

echo "== metrics (curl http://127.0.0.1:9190/metrics)"
curl -s --noproxy '*' http://127.0.0.1:9190/metrics | grep -E '^waygate_(tun_(rx|tx)_(packets|bytes)_total|drops_total)' | grep -v ' 0$'

if [[ ${1:-} == --keep ]]; then
  echo "== running; try: ip netns exec waygate-a ping 10.90.0.2 — Ctrl-C to stop"
  wait "$pid"
fi
