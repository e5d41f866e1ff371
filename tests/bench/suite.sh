#!/usr/bin/env bash
# The exit node's benchmark suite: one run, every row measured in it, on the three-namespace
# topology (client C -- connector S -- outside host O), the connector forwarding to the outside.
#   bash tests/bench/suite.sh build/waygate [SECONDS] [OUT_DIR]
# Rows: the plain routed path (no tunnel: the ceiling); Waygate client -> Waygate connector and
# wireguard-go -> Waygate connector (configs/exit-node.toml's pipeline: WireGuard, policy, shaper,
# stats, NAT, egress); and the peers a user would pick instead, each on both ends with the kernel's
# masquerade on the connector: wireguard-go, OpenVPN 2.6 (userspace, TLS mode, AES-256-GCM) and
# Nebula 1.6. For each: TCP upload and download with 1 and 4 streams (iperf3), the connector's
# CPU seconds per GB moved, UDP packets per second at 64-byte payloads (and the connector's CPU per
# packet, in results.json), and ping latency (median and p99) added over the plain path, alone and
# beside a bulk download or upload. Then 16 clients at once (fleet.sh), against Waygate's connector
# and wireguard-go's. Then: handshakes per second a connector core completes, the memory of 10,000
# peers (Waygate and wireguard-go) and Waygate's start with them, of a million NAT sessions, and
# the AEAD's raw speed, the floor of the connector's CPU per GB.
# Writes OUT_DIR/results.json, results.md and throughput.svg (gnuplot); with WAYGATE_BENCH_README=1
# it also puts results.md into README.md's performance section; with WAYGATE_BENCH_ONLY="plain waygate"
# (any of plain waygate wireguard-go openvpn nebula fleet) it measures those rows only and prints them.
# It asserts nothing.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/exit_node.sh"
SECS=${2:-8}
OUT=$(mkdir -p "${3:-$(dirname "$WAYGATE")/bench}" && cd "${3:-$(dirname "$WAYGATE")/bench}" && pwd)
BENCH=$(dirname "$WAYGATE")/tests
top=$(cd "$(dirname "$0")/../.." && pwd)
bash "$top/.ci/install-deps.sh" --bench

three_hosts 8
out=10.82.0.2
# The outside link behaves as a wire does (no oversized TCP segments handed across a veth), and
# the connector's end of it merges what arrives (GRO), as a network card's driver does by default.
ip netns exec "$O" ethtool -K "vo$RUN_ID" tso off gso off >/dev/null 2>&1 || true
ip netns exec "$S" ethtool -K "vt$RUN_ID" gro on >/dev/null 2>&1 || true
# outside_server: (re)starts the outside host's iperf3 server, PIDS[0]. A row's last test can leave
# it waiting on a client whose tunnel the row then took down ("the server is busy running a test"
# for every test of the next row, seen after the wireguard-go row), so each row gets a fresh one.
outside_server() {
  if ((${#PIDS[@]} > 0)); then
    kill "${PIDS[0]}" 2>/dev/null || true
    wait "${PIDS[0]}" 2>/dev/null || true
  fi
  ip netns exec "$O" iperf3 -s -B "$out" -p 5201 >/dev/null 2>&1 &
  PIDS[0]=$!
  wait_for 5 listening "$O" 5201
}
outside_server
ROWS="$WORK/rows.jsonl"
# WAYGATE_BENCH_SHAPER: the connector's shaper stage as configs/exit-node.toml has it, nothing set
# (unset or "idle"); "none": no shaper stage; "busy": every check on every packet, none binding (the
# exit node's rate shared fairly, alice's own limit and quota, all far above what a run moves).
case ${WAYGATE_BENCH_SHAPER:-idle} in
  none) SHAPER="" ;;
  idle) SHAPER=$'[[stage]]\nname = "shaper"\nplugin = "shaper"' ;;
  busy) SHAPER=$'[[stage]]\nname = "shaper"\nplugin = "shaper"\n[[stage.limit]]\nsocket = "corporate-exit"\nup = "100gbit"\ndown = "100gbit"\n[[stage.limit]]\nidentity = "alice"\nup = "100gbit"\ndown = "100gbit"\n[[stage.quota]]\nidentity = "alice"\nbytes = "1000TB"' ;;
  *) echo "WAYGATE_BENCH_SHAPER: none, idle or busy" >&2; exit 2 ;;
esac
# WAYGATE_BENCH_WATCH: what the connector's admin API has running during the Waygate rows: nothing
# (unset or "none"), one capture after the tunnel ("capture") or one trace ("trace"), each with a
# filter no packet of the runs matches (udp port 9): what looking costs, not copying.
case ${WAYGATE_BENCH_WATCH:-none} in
  none | capture | trace) WATCH=${WAYGATE_BENCH_WATCH:-none} ;;
  *) echo "WAYGATE_BENCH_WATCH: none, capture or trace" >&2; exit 2 ;;
esac
# WAYGATE_BENCH_ONLY="plain waygate ...": only those sections' rows, printed, for a quick look.
want() { [[ -z ${WAYGATE_BENCH_ONLY:-} || " $WAYGATE_BENCH_ONLY " == *" $1 "* ]]; }
# WAYGATE_CRYPTO_THREADS=N: both Waygate ends spread their crypto over N threads ([host]
# crypto_threads); unset, the default.
CRYPTO_THREADS=${WAYGATE_CRYPTO_THREADS:+crypto_threads = $WAYGATE_CRYPTO_THREADS}
# WAYGATE_BENCH_PERF=DIR: each TCP run of the rows with a Waygate connector is recorded by perf, the
# whole machine (`perf record -e cpu-clock -g -a`; Debian's linux-perf), into DIR/<client>-<run>.data:
# `perf report -i DIR/Waygate-up1.data`, `DIR/wireguard-go-down1.data`.
PERF_DIR=${WAYGATE_BENCH_PERF:-}
: >"$ROWS"
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# iperf LABEL... -> "bytes bits_per_second" of what the receiver got.
iperf() {
  ip netns exec "$C" iperf3 -c "$out" -p 5201 -t "$SECS" -J "$@" >"$WORK/iperf.json" 2>&1 || { echo "0 0"; return; }
  python3 -c '
import json, sys
e = json.load(open(sys.argv[1])).get("end", {})
s = e.get("sum_received") or e.get("sum")
print(s["bytes"], s["bits_per_second"]) if s else print(0, 0)  # an error iperf3 reported in its JSON' "$WORK/iperf.json"
}

# measure LABEL CONNECTOR_PID (or -): every figure of a row, appended to $ROWS as one JSON line.
measure() {
  local label=$1 pid=$2 name flags before after bytes bps pps packet_us median p99 loaded_median loaded_p99 upload_median upload_p99
  wait_for 15 ip netns exec "$C" ping -c 1 -W 1 "$out" || { echo "$label: no path to the outside host"; return; }
  local json="{\"label\": \"$label\""
  for name in up1 down1 up4 down4; do
    case $name in up1) flags=() ;; down1) flags=(-R) ;; up4) flags=(-P 4) ;; down4) flags=(-P 4 -R) ;; esac
    local perf=
    if [[ -n $PERF_DIR && $label == *"-> Waygate" ]]; then
      mkdir -p "$PERF_DIR"
      perf record -q -e cpu-clock -g -a -o "$PERF_DIR/${label%% *}-$name.data" 2>/dev/null &
      perf=$!
    fi
    before=$([[ $pid == - ]] && echo 0 || cpu "$pid")
    read -r bytes bps < <(iperf "${flags[@]}")
    after=$([[ $pid == - ]] && echo 0 || cpu "$pid")
    [[ -z $perf ]] || { kill -INT "$perf"; wait "$perf" || true; }
    json+=", \"${name}_gbps\": $(python3 -c "print(round($bps / 1e9, 3))")"
    [[ $pid == - || $bytes == 0 ]] || json+=", \"${name}_cpu_s_per_gb\": $(python3 -c "print(round(($after - $before) / $ticks / ($bytes / 1e9), 2))")"
  done
  before=$([[ $pid == - ]] && echo 0 || cpu "$pid")
  ip netns exec "$C" iperf3 -c "$out" -p 5201 -t "$SECS" -u -l 64 -b 0 -J >"$WORK/udp.json" 2>&1 || true
  after=$([[ $pid == - ]] && echo 0 || cpu "$pid")
  # Packets per second delivered, and the connector's CPU per packet delivered (µs; 0 without a pid).
  read -r pps packet_us < <(python3 -c '
import json, sys
try:
    s = json.load(open(sys.argv[1]))["end"]["sum"]
    delivered = s["packets"] - s["lost_packets"]
    cpu_us = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]) * 1e6
    print(round(delivered / s["seconds"]), round(cpu_us / delivered, 2) if delivered else 0)
except Exception:
    print(0, 0)' "$WORK/udp.json" "$before" "$after" "$ticks")
  ip netns exec "$C" ping -c 200 -i 0.005 -q -W 1 "$out" >/dev/null 2>&1  # warm: ARP, sessions
  read -r median p99 < <(pings)
  # Each taken whole before the next starts: read from a process substitution returns with the
  # first line, while the transfer still runs, and the next found the server busy (no upload).
  read -r loaded_median loaded_p99 <<<"$(pings_beside -R)"
  read -r upload_median upload_p99 <<<"$(pings_beside)"
  json+=", \"udp64_pps\": $pps, \"udp64_cpu_us_per_packet\": $packet_us, \"ping_median_us\": $median, \"ping_p99_us\": $p99"
  json+=", \"ping_loaded_median_us\": $loaded_median, \"ping_loaded_p99_us\": $loaded_p99"
  json+=", \"ping_upload_median_us\": $upload_median, \"ping_upload_p99_us\": $upload_p99}"
  echo "$json" >>"$ROWS"
  echo "$json"
}

# pings_beside [-R]: pings inside a bulk transfer of 9 s around them: a download (-R), whose
# replies wait behind it in the connector's queues, or an upload, whose requests wait in its
# tunnel socket.
pings_beside() {
  ip netns exec "$C" iperf3 -c "$out" -p 5201 -t 9 "$@" >/dev/null 2>&1 &
  local bulk=$!
  sleep 2
  pings
  wait "$bulk" || true
}

# pings: "median p99" in µs of 1000 pings from the client to the outside host, 5 ms apart (5 s,
# inside the transfer beside them): the 99th percentile is then the 10th-worst, not one stall.
pings() {
  ip netns exec "$C" ping -c 1000 -i 0.005 -W 1 "$out" | python3 -c '
import re, statistics, sys
t = sorted(float(m.group(1)) for m in re.finditer(r"time=([0-9.]+)", sys.stdin.read()))
print(round(statistics.median(t) * 1000), round(t[int(len(t) * 0.99) - 1] * 1000)) if t else print(0, 0)'
}

masquerade() {  # on|off: the kernel's NAT on the connector, for the rows that rely on it
  if [[ $1 == on ]]; then
    ip netns exec "$S" nft -f - <<NFT
table ip bench_$RUN_ID {
  chain post { type nat hook postrouting priority srcnat; oifname "vt$RUN_ID" masquerade; }
}
NFT
  else
    ip netns exec "$S" nft delete table ip "bench_$RUN_ID" 2>/dev/null || true
  fi
}
stop_pids() {  # everything started since the outside host's iperf3 server, which starts afresh
  for pid in "${PIDS[@]:1}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PIDS=("${PIDS[0]}")
  outside_server
}

wg_key server
wg_key client

if want plain; then
echo "== plain routed path"
masquerade on
ip -n "$C" route add 10.82.0.0/24 via 10.81.0.1
measure "plain routed path (no tunnel)" -
ip -n "$C" route del 10.82.0.0/24 via 10.81.0.1
masquerade off
fi

if want waygate; then
echo "== Waygate connector (configs/exit-node.toml's pipeline)"
cat >"$WORK/connector.toml" <<TOML
[host]
admin = "127.0.0.1:9190"
capture_seconds = 3600
nice = $CONNECTOR_NICE
$CRYPTO_THREADS
api = ["10.80.0.1:80"]
state_dir = "$WORK/state"
[overlay]
pool4 = "10.80.0.0/24"
pool6 = "fd80::/64"
[[identity]]
name = "alice"
public_key = "$(cat "$WORK/client.pub")"
groups = ["staff"]
$(exit_node_tables 10.82.0.0/24 10.82.0.1 "$SHAPER")
TOML
cat >"$WORK/client.toml" <<TOML
[host]
admin = "127.0.0.1:9191"
$CRYPTO_THREADS
[[stage]]
name = "device"
plugin = "tun"
device = "wc$RUN_ID"
address = ["10.80.0.2/24"]
[[stage]]
name = "exit"
plugin = "client"
device = "wc$RUN_ID"
state = "$WORK/selection.json"
dns = false
[[stage.connector]]
name = "connector-1"
api = "10.80.0.1"
[[stage]]
name = "tunnel"
plugin = "wireguard"
private_key_file = "$WORK/client.key"
[[stage.peer]]
name = "connector-1"
public_key = "$(cat "$WORK/server.pub")"
endpoint = "10.81.0.1:51820"
allowed_ips = ["0.0.0.0/0", "::/0"]
TOML
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"
CONNECTOR=$WAYGATE_PID
if [[ $WATCH != none ]]; then
  ip netns exec "$S" curl -sS -f -X POST -H 'Content-Type: application/json' "http://127.0.0.1:9190/v1/$WATCH" \
    -d '{"at": "'"$([[ $WATCH == capture ]] && echo tunnel)"'", "filter": "udp port 9", "seconds": 3600}' >/dev/null
fi
start_waygate "$WORK/client.toml" "$WORK/client.log" "$C"
ip netns exec "$C" "$WAYGATE" client use corporate-exit -c "$WORK/client.toml" >/dev/null
measure "Waygate -> Waygate" "$CONNECTOR"
# A clean stop removes the client's routes; the connector keeps alice on corporate-exit for the
# stock client that takes her place (`off` would have told it she uses none).
kill "$WAYGATE_PID"; wait "$WAYGATE_PID" 2>/dev/null || true

wireguard_go "$C" "gc$RUN_ID"
ip netns exec "$C" wg set "gc$RUN_ID" private-key "$WORK/client.key" \
  peer "$(cat "$WORK/server.pub")" endpoint 10.81.0.1:51820 allowed-ips 0.0.0.0/0
ip -n "$C" addr add 10.80.0.2/32 dev "gc$RUN_ID"
ip -n "$C" link set "gc$RUN_ID" up mtu 1420
ip -n "$C" route add 0.0.0.0/1 dev "gc$RUN_ID"
ip -n "$C" route add 128.0.0.0/1 dev "gc$RUN_ID"
measure "wireguard-go -> Waygate" "$CONNECTOR"
stop_pids
fi

if want wireguard-go; then
echo "== wireguard-go on both ends, kernel masquerade"
masquerade on
wireguard_go "$S" "gs$RUN_ID"
ip netns exec "$S" wg set "gs$RUN_ID" private-key "$WORK/server.key" listen-port 51820 \
  peer "$(cat "$WORK/client.pub")" allowed-ips 10.80.0.2/32
ip -n "$S" addr add 10.80.0.1/24 dev "gs$RUN_ID"
ip -n "$S" link set "gs$RUN_ID" up mtu 1420
GO_SERVER=$GO_PID
connector_nice "$GO_SERVER"
wireguard_go "$C" "gc$RUN_ID"
ip netns exec "$C" wg set "gc$RUN_ID" private-key "$WORK/client.key" \
  peer "$(cat "$WORK/server.pub")" endpoint 10.81.0.1:51820 allowed-ips 0.0.0.0/0
ip -n "$C" addr add 10.80.0.2/24 dev "gc$RUN_ID"
ip -n "$C" link set "gc$RUN_ID" up mtu 1420
ip -n "$C" route add 10.82.0.0/24 dev "gc$RUN_ID"
measure "wireguard-go -> wireguard-go" "$GO_SERVER"
stop_pids
fi

if want openvpn; then
echo "== OpenVPN 2.6 on both ends (userspace, TLS, AES-256-GCM), kernel masquerade"
(
  cd "$WORK"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=bench-ca \
    -keyout ca.key -out ca.crt 2>/dev/null
  for who in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$who" -keyout "ov-$who.key" \
      -out "$who.csr" 2>/dev/null
    printf 'extendedKeyUsage=%s\n' "$([[ $who == server ]] && echo serverAuth || echo clientAuth)" >"$who.ext"
    openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile "$who.ext" \
      -out "ov-$who.crt" 2>/dev/null
  done
)
ovpn() {  # NS WHO EXTRA...: openvpn in the foreground; its pid in OV_PID
  local ns=$1 who=$2
  shift 2
  ip netns exec "$ns" openvpn --dev "o$who$RUN_ID" --dev-type tun --proto udp --disable-dco \
    --ca "$WORK/ca.crt" --cert "$WORK/ov-$who.crt" --key "$WORK/ov-$who.key" --dh none \
    --data-ciphers AES-256-GCM --cipher AES-256-GCM --verb 1 "$@" >"$WORK/openvpn-$who.log" 2>&1 &
  OV_PID=$!
  PIDS+=("$OV_PID")
}
masquerade on
ovpn "$S" server --tls-server --local 10.81.0.1 --port 1194 --ifconfig 10.90.0.1 10.90.0.2
OV_SERVER=$OV_PID
connector_nice "$OV_SERVER"
ovpn "$C" client --tls-client --remote 10.81.0.1 1194 --ifconfig 10.90.0.2 10.90.0.1 --route-noexec
wait_for 20 ip netns exec "$C" ping -c 1 -W 1 10.90.0.1 || echo "OpenVPN: no tunnel ($(tail -3 "$WORK/openvpn-client.log"))"
ip -n "$C" route add 10.82.0.0/24 via 10.90.0.1 dev "oclient$RUN_ID" 2>/dev/null || ip -n "$C" route add 10.82.0.0/24 dev "oclient$RUN_ID"
measure "OpenVPN 2.6 -> OpenVPN 2.6" "$OV_SERVER"
stop_pids
fi

if want nebula; then
echo "== Nebula 1.6 on both ends, kernel masquerade"
(
  cd "$WORK"
  nebula-cert ca -name bench -out-crt nb-ca.crt -out-key nb-ca.key >/dev/null
  nebula-cert sign -ca-crt nb-ca.crt -ca-key nb-ca.key -name connector -ip 10.91.0.1/24 -subnets 10.82.0.0/24 \
    -out-crt nb-s.crt -out-key nb-s.key >/dev/null
  nebula-cert sign -ca-crt nb-ca.crt -ca-key nb-ca.key -name client -ip 10.91.0.2/24 -out-crt nb-c.crt -out-key nb-c.key >/dev/null
)
nebula_config() {  # WHO DEVICE EXTRA_YAML
  cat <<YAML
pki: {ca: $WORK/nb-ca.crt, cert: $WORK/nb-$1.crt, key: $WORK/nb-$1.key}
firewall:
  outbound: [{port: any, proto: any, host: any}]
  inbound: [{port: any, proto: any, host: any}]
logging: {level: warning}
$3
YAML
}
nebula_config s "" "static_host_map: {}
lighthouse: {am_lighthouse: true}
listen: {host: 10.81.0.1, port: 4242}
tun: {dev: nbs$RUN_ID}" >"$WORK/nebula-s.yml"
nebula_config c "" "static_host_map: {'10.91.0.1': ['10.81.0.1:4242']}
lighthouse: {am_lighthouse: false, hosts: ['10.91.0.1']}
listen: {host: 0.0.0.0, port: 0}
tun:
  dev: nbc$RUN_ID
  unsafe_routes: [{route: 10.82.0.0/24, via: 10.91.0.1}]" >"$WORK/nebula-c.yml"
masquerade on
ip netns exec "$S" nebula -config "$WORK/nebula-s.yml" >"$WORK/nebula-s.log" 2>&1 &
NB_SERVER=$!
PIDS+=("$NB_SERVER")
connector_nice "$NB_SERVER"
ip netns exec "$C" nebula -config "$WORK/nebula-c.yml" >"$WORK/nebula-c.log" 2>&1 &
PIDS+=($!)
measure "Nebula 1.6 -> Nebula 1.6" "$NB_SERVER"
stop_pids
masquerade off
fi

: >"$WORK/fleet.jsonl"
if want fleet; then
echo "== 16 clients at once (fleet.sh)"
bash "$(dirname "$0")/fleet.sh" "$WAYGATE" "$SECS" "$WORK/fleet.jsonl" || echo "fleet.sh failed"
fi

if [[ -n ${WAYGATE_BENCH_ONLY:-} ]]; then  # a partial run: its rows, no summary
  exit 0
fi

echo "== memory of 10,000 peers"
python3 - "$WORK" <<'PY'
import base64, os, sys
work = sys.argv[1]
keys = [base64.b64encode(os.urandom(32)).decode() for _ in range(10000)]
with open(f"{work}/peers.toml", "w") as f:
    f.write('[host]\nadmin = ""\n[overlay]\npool4 = "10.100.0.0/16"\npool6 = "fd99::/64"\n')
    for i, k in enumerate(keys):
        f.write(f'[[identity]]\nname = "p{i}"\npublic_key = "{k}"\n')
    f.write(f'[[stage]]\nname = "tunnel"\nplugin = "wireguard"\nlisten_port = 51821\nprivate_key_file = "{work}/server.key"\nidentities = true\n'
            f'[[stage]]\nname = "host"\nplugin = "tun"\ndevice = "wp"\naddress = ["10.100.0.1/16"]\n')
with open(f"{work}/peers.wg", "w") as f:
    f.write(f"[Interface]\nPrivateKey = {open(work + '/server.key').read().strip()}\nListenPort = 51822\n")
    for i, k in enumerate(keys):
        f.write(f"[Peer]\nPublicKey = {k}\nAllowedIPs = 10.100.{i // 250}.{i % 250 + 2}/32\n")
PY
sed -i "s|device = \"wp\"|device = \"wp$RUN_ID\"|" "$WORK/peers.toml"
rss() { awk '/VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }
ip netns exec "$S" "$WAYGATE" run -c "$WORK/peers.toml" >"$WORK/peers.log" 2>&1 &
WAYGATE_PID=$!
PIDS+=("$WAYGATE_PID")
started=$(date +%s.%N)
# From exec to the host's "running" line, polled each 10 ms (wait_for's 0.1 s steps are too coarse).
for _ in $(seq 12000); do grep -q "running" "$WORK/peers.log" && break; sleep 0.01; done
peers_start_s=$(python3 -c "print(round($(date +%s.%N) - $started, 2))")
sleep 1
waygate_rss=$(rss "$WAYGATE_PID")
stop_pids
wireguard_go "$S" "gp$RUN_ID"
ip netns exec "$S" wg setconf "gp$RUN_ID" "$WORK/peers.wg"
sleep 1
go_rss=$(rss "$GO_PID")
stop_pids

echo "== micro-benchmarks: handshakes, NAT sessions, AEAD"
"$BENCH/handshake_bench" --benchmark_format=json >"$WORK/handshake.json" 2>/dev/null
"$BENCH/nat_bench" --benchmark_filter='BM_EstablishedLookups/1024' --benchmark_format=json >"$WORK/nat.json" 2>/dev/null
"$BENCH/aead_bench" --benchmark_filter='(OpenSsl|Sodium)(Seal|Open)/1420' --benchmark_format=json >"$WORK/aead.json" 2>/dev/null
"$BENCH/aead_bench" --benchmark_filter='CrewSeal/64/' --benchmark_format=json >"$WORK/crew.json" 2>/dev/null

python3 - "$WORK" "$OUT" "$waygate_rss" "$go_rss" "$SECS" "$peers_start_s" <<'PY'
import json, os, sys, time
work, out, waygate_rss, go_rss, secs = sys.argv[1], sys.argv[2], int(sys.argv[3] or 0), int(sys.argv[4] or 0), sys.argv[5]
peers_start_s = float(sys.argv[6] or 0)
rows = [json.loads(l) for l in open(f"{work}/rows.jsonl")]
fleet = [json.loads(l) for l in open(f"{work}/fleet.jsonl")] if os.path.exists(f"{work}/fleet.jsonl") else []
bench = lambda f: json.load(open(f"{work}/{f}.json"))["benchmarks"]
hs = bench("handshake")[0]["handshakes_per_s"]
nat = bench("nat")[0]
aead = {b["name"]: b["bytes_per_second"] for b in bench("aead")}
aead_gbs = aead.get("OpenSslOpen/1420", 0) / 1e9
# CrewSeal/64/<threads>/real_time: a 64-packet burst sealed on a crew of that many threads.
crew = {int(b["name"].split("/")[2]): round(b["bytes_per_second"] / 1e9, 2) for b in bench("crew")}
extra = {
    "handshakes_per_s_per_core": round(hs),
    "memory_10k_peers_bytes": {"waygate": waygate_rss, "wireguard-go": go_rss},
    "waygate_start_10k_peers_s": peers_start_s,
    "nat_rss_bytes_per_session": round(nat["rss_bytes_per_session"], 1),
    "nat_sessions": int(nat["sessions"]),
    "aead_gb_per_s_1420": {k: round(v / 1e9, 2) for k, v in aead.items()},
    "aead_cpu_s_per_gb": round(1 / aead_gbs, 2) if aead_gbs else None,
    "burst_sealed_gb_per_s_by_threads": crew,
}
result = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds_per_run": int(secs), "rows": rows,
          "fleet": fleet, "extra": extra}
json.dump(result, open(f"{out}/results.json", "w"), indent=2)

plain = next((r for r in rows if r["label"].startswith("plain")), None)
g = lambda r, k: r.get(k, None)
fmt = lambda v, d=2: "—" if v is None else f"{v:.{d}f}" if isinstance(v, float) else f"{v:,}"
lines = ["| client -> connector | 1 stream up / down Gb/s | 4 streams up / down Gb/s | connector CPU-s/GB up / down (1 stream) | UDP 64 B pps | ping median / p99 added (µs) | ping p99 beside a download (µs): itself / added | ping p99 beside an upload (µs): itself / added |",
         "|---|---|---|---|---|---|---|---|"]
beside = lambda r, k: f"{r[k]:,}" + ("" if r is plain or plain is None or k not in plain else f" / {r[k] - plain[k]:,}")
for r in rows:
    added = "—" if r is plain or plain is None else f"{r['ping_median_us'] - plain['ping_median_us']} / {r['ping_p99_us'] - plain['ping_p99_us']}"
    if r is plain:
        added = f"({r['ping_median_us']} / {r['ping_p99_us']} itself)"
    lines.append(f"| {r['label']} | {fmt(g(r,'up1_gbps'))} / {fmt(g(r,'down1_gbps'))} | {fmt(g(r,'up4_gbps'))} / {fmt(g(r,'down4_gbps'))} | "
                 f"{fmt(g(r,'up1_cpu_s_per_gb'),1)} / {fmt(g(r,'down1_cpu_s_per_gb'),1)} | {fmt(r['udp64_pps'])} | {added} | "
                 f"{beside(r, 'ping_loaded_p99_us')} | {beside(r, 'ping_upload_p99_us')} |")
if fleet:
    lines += ["", "| 16 clients at once (8 Waygate, 8 wireguard-go; one TCP stream each) | up / down Gb/s, all | slowest / fastest client up Gb/s | slowest / fastest client down Gb/s | Jain's fairness up / down | connector CPU-s/GB up / down |",
              "|---|---|---|---|---|---|"]
    for r in fleet:
        lines.append(f"| {r['label']} | {fmt(r['up_gbps'])} / {fmt(r['down_gbps'])} | {fmt(r['up_min_gbps'], 3)} / {fmt(r['up_max_gbps'], 3)} | "
                     f"{fmt(r['down_min_gbps'], 3)} / {fmt(r['down_max_gbps'], 3)} | {fmt(r['up_jain'])} / {fmt(r['down_jain'])} | "
                     f"{fmt(r['up_cpu_s_per_gb'], 1)} / {fmt(r['down_cpu_s_per_gb'], 1)} |")
mib = lambda b: f"{b / 2**20:.0f} MiB"
lines += ["",
          f"- Handshakes a connector core completes: {extra['handshakes_per_s_per_core']:,} per second (responder's whole share, `handshake_bench`).",
          f"- Memory of 10,000 peers: Waygate {mib(waygate_rss)}, wireguard-go {mib(go_rss)} (resident, the whole process); Waygate starts with them in {peers_start_s} s.",
          f"- A million NAT sessions: {extra['nat_rss_bytes_per_session']} bytes of resident memory each, {extra['nat_rss_bytes_per_session'] * 1e6 / 2**20:.0f} MiB in all ({nat['sessions']:,.0f} sessions, `nat_bench`).",
          f"- ChaCha20-Poly1305 at 1420 B: " + ", ".join(f"{k} {v} GB/s" for k, v in extra["aead_gb_per_s_1420"].items()) +
          (f"; opening 1 GB costs {extra['aead_cpu_s_per_gb']} CPU-s, the floor of a connector's CPU per GB." if extra["aead_cpu_s_per_gb"] else ""),
          f"- A burst of 64 packets of 1420 B sealed as the wireguard edge does ([host] crypto_threads, wall clock): " +
          ", ".join(f"{n} thread{'s' if n > 1 else ''} {v} GB/s" for n, v in sorted(crew.items())) + ".",
          f"- Each iperf3 run {secs} s; client, connector, outside host and the load generators share the machine's cores."]
open(f"{out}/results.md", "w").write("\n".join(lines) + "\n")
with open(f"{work}/plot.dat", "w") as f:
    for r in rows:
        f.write('"%s" %s %s %s %s\n' % (r["label"].replace(" -> ", "\\n"), r.get("up1_gbps", 0), r.get("down1_gbps", 0), r.get("up4_gbps", 0), r.get("down4_gbps", 0)))
PY
gnuplot <<GP
set terminal svg size 960,480 font "sans,11"
set output "$OUT/throughput.svg"
set title "TCP through the exit node (iperf3, ${SECS} s per bar)"
set ylabel "Gb/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top right
set yrange [0:*]
set xtics font ",9"
plot "$WORK/plot.dat" using 2:xtic(1) title "1 stream up", "" using 3 title "1 stream down", \
     "" using 4 title "4 streams up", "" using 5 title "4 streams down"
GP
cat "$OUT/results.md"
echo "written: $OUT/results.json, results.md, throughput.svg"
if [[ ${WAYGATE_BENCH_README:-} == 1 ]]; then
  python3 - "$top/README.md" "$OUT/results.md" <<'PY'
import re, sys
readme, table = open(sys.argv[1]).read(), open(sys.argv[2]).read()
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
if begin in readme:
    readme = re.sub(re.escape(begin) + ".*?" + re.escape(end), begin + "\n" + table + end, readme, flags=re.S)
    open(sys.argv[1], "w").write(readme)
    print("README.md's performance section updated")
PY
fi
