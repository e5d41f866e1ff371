#!/usr/bin/env bash
# TCP through a WireGuard tunnel, three namespaces: client -- connector -- outside host. The
# client's tunnel carries iperf3 to the outside host, which the connector routes to. One run,
# side by side:
#   waygate client    -> waygate connector
#   wireguard-go      -> wireguard-go
#   wireguard-go      -> waygate connector
# For each: throughput (upload and download) and the connector's CPU seconds per GB moved.
#   bash tests/bench/wireguard_throughput.sh build/waygate [seconds]
source "$(dirname "$0")/../integration/lib.sh"
SECS=${2:-10}

three_hosts 7
ip -n "$O" route add 10.70.0.0/24 via 10.72.0.1

wg_key server
wg_key client

cpu() { awk '{printf "%d", $14 + $15}' "/proc/$1/stat"; }  # clock ticks
ticks=$(getconf CLK_TCK)

ip netns exec "$O" iperf3 -s -B 10.72.0.2 -p 5201 >/dev/null 2>&1 &
PIDS+=($!)
wait_for 5 listening "$O" 5201

# measure LABEL CONNECTOR_PID: upload then download; prints a table row each.
measure() {
  local label=$1 pid=$2 direction flag before after bytes
  wait_for 10 ip netns exec "$C" ping -c 1 -W 1 10.72.0.2 || { echo "$label: no path"; return; }
  for direction in upload download; do
    flag=$([[ $direction == download ]] && echo -R || true)
    before=$(cpu "$pid")
    ip netns exec "$C" iperf3 -c 10.72.0.2 -p 5201 -t "$SECS" $flag -J >"$WORK/run.json"
    after=$(cpu "$pid")
    read -r bytes gbps < <(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum_received"]
print(e["bytes"], round(e["bits_per_second"] / 1e9, 2))' "$WORK/run.json")
    printf '%-34s %-9s %8s %18s\n' "$label" "$direction" "$gbps" \
      "$(python3 -c "print(f'{($after - $before) / $ticks / ($bytes / 1e9):.1f}')")"
  done
}

server_toml() {
  cat <<TOML
[host]
admin = ""
[[stage]]
name = "tunnel"
plugin = "wireguard"
netns = "$S"
listen_port = 51820
private_key_file = "$WORK/server.key"
[[stage.peer]]
public_key = "$(cat "$WORK/client.pub")"
allowed_ips = ["10.70.0.2/32"]
[[stage]]
name = "host"
plugin = "tun"
netns = "$S"
device = "ws$RUN_ID"
address = ["10.70.0.1/24"]
TOML
}
client_toml() {
  cat <<TOML
[host]
admin = ""
[[stage]]
name = "local"
plugin = "tun"
netns = "$C"
device = "wc$RUN_ID"
address = ["10.70.0.2/24"]
[[stage]]
name = "tunnel"
plugin = "wireguard"
netns = "$C"
private_key_file = "$WORK/client.key"
[[stage.peer]]
public_key = "$(cat "$WORK/server.pub")"
endpoint = "10.71.0.1:51820"
allowed_ips = ["10.70.0.0/24", "10.72.0.0/24"]
TOML
}
go_up() {  # NS IFACE KEY PEER_PUB ADDRESS [wg set peer args...]
  local ns=$1 dev=$2 key=$3 pub=$4 address=$5
  shift 5
  wireguard_go "$ns" "$dev"
  ip netns exec "$ns" wg set "$dev" private-key "$key" peer "$pub" "$@"
  ip -n "$ns" addr add "$address" dev "$dev"
  ip -n "$ns" link set "$dev" up mtu 1420
}
stop_all_tunnels() {
  for pid in "${PIDS[@]:1}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PIDS=("${PIDS[0]}")
}

printf '%-34s %-9s %8s %18s\n' "client -> connector" direction "Gb/s" "connector CPU-s/GB"

server_toml >"$WORK/server.toml"
client_toml >"$WORK/client.toml"
start_waygate "$WORK/server.toml" "$WORK/server.log"
SERVER=$WAYGATE_PID
start_waygate "$WORK/client.toml" "$WORK/client.log"
ip -n "$C" route add 10.72.0.0/24 dev "wc$RUN_ID"
measure "waygate -> waygate" "$SERVER"
stop_all_tunnels

go_up "$S" "gs$RUN_ID" "$WORK/server.key" "$(cat "$WORK/client.pub")" 10.70.0.1/24 allowed-ips 10.70.0.2/32
ip netns exec "$S" wg set "gs$RUN_ID" listen-port 51820
SERVER=$GO_PID
go_up "$C" "gc$RUN_ID" "$WORK/client.key" "$(cat "$WORK/server.pub")" 10.70.0.2/24 \
  endpoint 10.71.0.1:51820 allowed-ips 10.70.0.0/24,10.72.0.0/24
ip -n "$C" route add 10.72.0.0/24 dev "gc$RUN_ID"
measure "wireguard-go -> wireguard-go" "$SERVER"
stop_all_tunnels

start_waygate "$WORK/server.toml" "$WORK/server.log"
SERVER=$WAYGATE_PID
go_up "$C" "gc$RUN_ID" "$WORK/client.key" "$(cat "$WORK/server.pub")" 10.70.0.2/24 \
  endpoint 10.71.0.1:51820 allowed-ips 10.70.0.0/24,10.72.0.0/24
ip -n "$C" route add 10.72.0.0/24 dev "gc$RUN_ID"
measure "wireguard-go -> waygate" "$SERVER"
