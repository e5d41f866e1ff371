#!/usr/bin/env bash
# Many clients at once through one exit node: 16 client namespaces on a bridge in the connector's
# namespace S, the outside host O beyond it (as suite.sh's three_hosts, with its link settings):
#   client i 10.83.0.(10+i) --- br 10.83.0.1 S 10.84.0.1 --- 10.84.0.2 O (iperf3 on 5301..5316)
# Clients 1-8 are Waygate hosts (tun + wireguard), 9-16 wireguard-go; client i is identity ci with
# the static overlay address 10.80.0.(10+i). Rows: 16 clients -> Waygate (suite.sh's connector
# pipeline) on one worker and on two ([host] workers), 16 clients -> Waygate's wireguard edge and a TUN device with the kernel forwarding and
# masquerading, on one worker, one worker with a crypto crew, and two workers ([host] workers), and
# 16 clients -> wireguard-go with the kernel's masquerade. Each row: all 16 upload
# one TCP stream at once, then all 16 download: aggregate, slowest and fastest client, Jain's
# fairness index over the 16 (each client's rate over the seconds all of them share), and the
# connector's CPU seconds per GB. Waygate's rows are run again
# with the exit node's rate capped (the shaper's fair share), where the connector is what decides.
#   bash tests/bench/fleet.sh build/waygate [SECONDS] [OUT_JSONL]
# One JSON line per row, printed and appended to OUT_JSONL (default $WORK/fleet.jsonl, which goes
# with $WORK when the run ends). It asserts nothing.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/exit_node.sh"
SECS=${2:-8}
OUT_JSONL=${3:-$WORK/fleet.jsonl}
N=16
out=10.84.0.2
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

S=$(new_ns s)
O=$(new_ns o)
ip -n "$S" link add "br$RUN_ID" type bridge
ip -n "$S" addr add 10.83.0.1/24 dev "br$RUN_ID"
ip -n "$S" link set "br$RUN_ID" up
CL=()
for i in $(seq "$N"); do
  CL[i]=$(new_ns "c$i")
  ip link add "c$i$RUN_ID" netns "${CL[i]}" type veth peer name "s$i$RUN_ID" netns "$S"
  ip -n "$S" link set "s$i$RUN_ID" master "br$RUN_ID" up
  ip -n "${CL[i]}" addr add "10.83.0.$((10 + i))/24" dev "c$i$RUN_ID"
  ip -n "${CL[i]}" link set "c$i$RUN_ID" up
  wg_key "c$i"
done
ip link add "vo$RUN_ID" netns "$O" type veth peer name "vt$RUN_ID" netns "$S"
ip -n "$S" addr add 10.84.0.1/24 dev "vt$RUN_ID"
ip -n "$O" addr add "$out/24" dev "vo$RUN_ID"
ip -n "$S" link set "vt$RUN_ID" up
ip -n "$O" link set "vo$RUN_ID" up
ip netns exec "$S" sysctl -qw net.ipv4.ip_forward=1
# As suite.sh: the outside link behaves as a wire does, and the connector's end merges (GRO).
ip netns exec "$O" ethtool -K "vo$RUN_ID" tso off gso off >/dev/null 2>&1 || true
ip netns exec "$S" ethtool -K "vt$RUN_ID" gro on >/dev/null 2>&1 || true
# An iperf3 server serves one test at a time: one per client.
for i in $(seq "$N"); do
  ip netns exec "$O" iperf3 -s -B "$out" -p $((5300 + i)) >/dev/null 2>&1 &
  PIDS+=($!)
done
for i in $(seq "$N"); do wait_for 5 listening "$O" $((5300 + i)); done
SERVERS=${#PIDS[@]}
wg_key server

clients_up() {  # ROW: the 16 clients, each to the connector at 10.83.0.1:51820
  local i dev
  for i in $(seq "$N"); do
    if ((i <= N / 2)); then
      dev="w$i$RUN_ID"
      cat >"$WORK/c$i.toml" <<TOML
[host]
admin = ""
[[stage]]
name = "device"
plugin = "tun"
device = "$dev"
address = ["10.80.0.$((10 + i))/32"]
[[stage]]
name = "tunnel"
plugin = "wireguard"
private_key_file = "$WORK/c$i.key"
[[stage.peer]]
name = "connector"
public_key = "$(cat "$WORK/server.pub")"
endpoint = "10.83.0.1:51820"
allowed_ips = ["0.0.0.0/0"]
TOML
      # A log of its own per row: start_waygate would find the last row's "running" in an old one.
      start_waygate "$WORK/c$i.toml" "$WORK/c$i-$1.log" "${CL[i]}"
    else
      dev="g$i$RUN_ID"
      wireguard_go "${CL[i]}" "$dev"
      ip netns exec "${CL[i]}" wg set "$dev" private-key "$WORK/c$i.key" \
        peer "$(cat "$WORK/server.pub")" endpoint 10.83.0.1:51820 allowed-ips 0.0.0.0/0
      ip -n "${CL[i]}" addr add "10.80.0.$((10 + i))/32" dev "$dev"
      ip -n "${CL[i]}" link set "$dev" up mtu 1420
    fi
    ip -n "${CL[i]}" route add 10.84.0.0/24 dev "$dev"
  done
}
stop_pids() {  # everything started since the outside host's iperf3 servers
  for pid in "${PIDS[@]:SERVERS}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PIDS=("${PIDS[@]:0:SERVERS}")
}

# run PID TAG IPERF_FLAGS...: every client with a path, at once, into $WORK/TAG<i>.json; the CPU
# ticks of process PID (the connector) over the run into $WORK/TAG.cpu. Launched one after another
# (a second or more for 16 on a busy machine), the clients wait for one signal to start, so that
# none has the exit node alone at either end.
run() {
  local pid=$1 tag=$2 i p before keep=("${PIDS[@]}")
  shift 2
  rm -f "$WORK/go"
  for i in $(seq "$N"); do
    rm -f "$WORK/$tag$i.json"
    [[ -f $WORK/path$i ]] || continue
    ip netns exec "${CL[i]}" timeout $((SECS + 30)) bash -c 'until [[ -e $1 ]]; do sleep 0.005; done; shift; exec "$@"' _ \
      "$WORK/go" iperf3 -c "$out" -p $((5300 + i)) -t "$SECS" -J "$@" >"$WORK/$tag$i.json" 2>&1 &
    PIDS+=($!)
  done
  sleep 0.5
  before=$(cpu "$pid")
  touch "$WORK/go"
  for p in "${PIDS[@]:${#keep[@]}}"; do wait "$p" || true; done
  PIDS=("${keep[@]}")
  echo $(($(cpu "$pid") - before)) >"$WORK/$tag.cpu"
}

# measure LABEL CONNECTOR_PID: waits for every client's path (in parallel, so dead clients cost one
# wait, not one each), runs all up then all down, appends the row.
measure() {
  local label=$1 pid=$2 i w=()
  for i in $(seq "$N"); do
    rm -f "$WORK/path$i"
    (wait_for 20 ip netns exec "${CL[i]}" ping -c 1 -W 1 "$out" >/dev/null && touch "$WORK/path$i") &
    w+=($!)
  done
  for i in "${w[@]}"; do wait "$i" || true; done
  for i in $(seq "$N"); do [[ -f $WORK/path$i ]] || echo "$label: client $i has no path to the outside host"; done
  run "$pid" up
  run "$pid" down -R
  python3 - "$WORK" "$label" "$N" "$ticks" "$SECS" <<'PY' | tee -a "$OUT_JSONL"
import json, sys
work, label, n, hz, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
row = {"label": label, "clients": n}

def rate(doc):
    """Gb/s over the seconds every client shares (its first and last left out: connecting, and the
    last bytes of the ones that finish first), from iperf3's one-second intervals."""
    middle = [i["sum"] for i in doc.get("intervals", []) if i["sum"]["start"] >= 1 and i["sum"]["end"] <= secs - 1 + 0.05]
    seconds = sum(i["seconds"] for i in middle)
    return sum(i["bytes"] for i in middle) * 8 / seconds / 1e9 if secs > 2 and seconds > 0 else None

for way in ("up", "down"):
    got = []
    for i in range(1, n + 1):
        try:
            doc = json.load(open(f"{work}/{way}{i}.json"))
            s = doc["end"].get("sum_received") or doc["end"]["sum"]
            got.append((s["bytes"], rate(doc) or s["bits_per_second"] / 1e9))
        except Exception:  # no path, or iperf3 failed: it moved nothing
            got.append((0, 0.0))
    gbps, moved = [g for _, g in got], sum(b for b, _ in got)
    total, squares = sum(gbps), sum(g * g for g in gbps)
    ticks = int(open(f"{work}/{way}.cpu").read())
    row.update({f"{way}_gbps": round(total, 3), f"{way}_jain": round(total * total / (n * squares), 3) if squares else 0,
                f"{way}_min_gbps": round(min(gbps), 3), f"{way}_max_gbps": round(max(gbps), 3),
                f"{way}_cpu_s_per_gb": round(ticks / hz / (moved / 1e9), 2) if moved else None,
                f"{way}_each_gbps": [round(g, 3) for g in gbps]})
order = ["label", "clients", "up_gbps", "down_gbps", "up_jain", "down_jain", "up_min_gbps", "up_max_gbps",
         "down_min_gbps", "down_max_gbps", "up_cpu_s_per_gb", "down_cpu_s_per_gb", "up_each_gbps", "down_each_gbps"]
print(json.dumps({k: row[k] for k in order}))
PY
}

# connector_config WORKERS [RATE]: suite.sh's connector for the 16 identities on WORKERS workers
# ([host] workers); with RATE, the exit node's rate capped at RATE each way, the shaper sharing it
# fairly among the clients using it (on two workers, among both workers' clients).
connector_config() {
  local shaper=$'[[stage]]\nname = "shaper"\nplugin = "shaper"'
  [[ -z ${2:-} ]] || shaper+=$'\n[[stage.limit]]\nsocket = "corporate-exit"\nup = "'"$2"$'"\ndown = "'"$2"'"'
{
  cat <<TOML
[host]
admin = ""
api = ["10.80.0.1:80"]
nice = $CONNECTOR_NICE
workers = $1
[overlay]
pool4 = "10.80.0.0/24"
TOML
  for i in $(seq "$N"); do
    printf '[[identity]]\nname = "c%s"\npublic_key = "%s"\ngroups = ["staff"]\naddress = ["10.80.0.%s"]\n' \
      "$i" "$(cat "$WORK/c$i.pub")" $((10 + i))
  done
  exit_node_tables 10.84.0.0/24 10.84.0.1 "$shaper"
} >"$WORK/connector.toml"
}

# Uncapped, the clients and their iperf3 (more processes than this machine has cores) are the
# bottleneck, and the kernel's scheduler decides who moves most; capped, the connector decides.
for shape in "1" "2" "1 300mbit" "2 300mbit"; do
  read -r workers cap <<<"$shape"
  label="$N clients -> Waygate$( ((workers == 1)) || echo ", workers = $workers")${cap:+, capped at $cap}"
  echo "== $label (suite.sh's pipeline)"
  connector_config "$workers" "$cap"
  start_waygate "$WORK/connector.toml" "$WORK/connector-$workers$cap.log" "$S"
  CONNECTOR=$WAYGATE_PID
  clients_up "waygate-$workers$cap"
  measure "$label" "$CONNECTOR"
  stop_pids
done

# The rows below leave NAT and forwarding to the kernel: the connector only tunnels.
ip netns exec "$S" nft -f - <<NFT
table ip fleet_$RUN_ID {
  chain post { type nat hook postrouting priority srcnat; oifname "vt$RUN_ID" masquerade; }
}
NFT

# tunnel_config WORKERS CRYPTO_THREADS: Waygate's wireguard edge and a TUN device into the
# connector's kernel, on WORKERS workers ([host] workers: each owns its share of the peers and a
# queue of the device) with CRYPTO_THREADS threads each: a worker per core against one worker
# with a crypto crew, the same two cores.
tunnel_config() {
{
  printf '[host]\nadmin = ""\nnice = %s\nworkers = %s\ncrypto_threads = %s\n' "$CONNECTOR_NICE" "$1" "$2"
  printf '[[stage]]\nname = "tunnel"\nplugin = "wireguard"\nlisten_port = 51820\nprivate_key_file = "%s"\n' "$WORK/server.key"
  for i in $(seq "$N"); do
    printf '[[stage.peer]]\nname = "c%s"\npublic_key = "%s"\nallowed_ips = ["10.80.0.%s/32"]\n' \
      "$i" "$(cat "$WORK/c$i.pub")" $((10 + i))
  done
  printf '[[stage]]\nname = "kernel"\nplugin = "tun"\ndevice = "wk%s"\naddress = ["10.80.0.1/24"]\n' "$RUN_ID"
} >"$WORK/tunnel.toml"
}
for shape in "1 1" "1 2" "2 1"; do
  read -r workers crew <<<"$shape"
  label="$N clients -> Waygate tunnel + kernel NAT, workers = $workers, crypto_threads = $crew"
  echo "== $label"
  tunnel_config "$workers" "$crew"
  start_waygate "$WORK/tunnel.toml" "$WORK/tunnel-$workers-$crew.log" "$S"
  CONNECTOR=$WAYGATE_PID
  clients_up "tunnel-$workers-$crew"
  measure "$label" "$CONNECTOR"
  stop_pids
done

echo "== $N clients -> wireguard-go, kernel masquerade"
wireguard_go "$S" "gs$RUN_ID"
GO_SERVER=$GO_PID
connector_nice "$GO_SERVER"
peers=()
for i in $(seq "$N"); do peers+=(peer "$(cat "$WORK/c$i.pub")" allowed-ips "10.80.0.$((10 + i))/32"); done
ip netns exec "$S" wg set "gs$RUN_ID" private-key "$WORK/server.key" listen-port 51820 "${peers[@]}"
ip -n "$S" addr add 10.80.0.1/24 dev "gs$RUN_ID"
ip -n "$S" link set "gs$RUN_ID" up mtu 1420
clients_up wireguard-go
measure "$N clients -> wireguard-go" "$GO_SERVER"
stop_pids
