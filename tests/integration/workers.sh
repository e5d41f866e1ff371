#!/usr/bin/env bash
# Two workers ([host] workers = 2) serving one WireGuard port and one TUN device, with four
# wireguard-go clients in namespaces of their own, two of them owned by each worker (a peer's
# worker is named by its public key, so the keys are drawn until they split two and two):
#   1. every client's handshake completes, wherever its initiation landed (/v1/peers, gathered
#      from both workers, lists each with its session), and a checked TCP download crosses to each;
#   2. both workers carried traffic (their threads' CPU time), and the kernel steered it: the
#      datagrams a worker had to hand to another (handed_over_total) are a small share of those
#      received, where steering by the 4-tuple's hash alone would hand over about half;
#   3. the host set up as root and runs as nobody: every thread, both workers' among them, with
#      the same capabilities and no more;
#   4. a reload that changes the number of workers is refused and traffic goes on, one that does
#      not is applied by both workers, the sessions kept; a file with
#      a stage whose plugin runs on one worker only is refused by `waygate check`, naming it, and
#      configs/exit-node.toml with `workers = 2` passes it.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody"; exit 77; }

S=$(new_ns s)
wg_key server
# worker_of PUBLIC_KEY_FILE: the worker (of two) owning that peer: its key's first byte, mod 2.
worker_of() { python3 -c 'import base64, sys; print(base64.b64decode(open(sys.argv[1]).read())[0] % 2)' "$1"; }
declare -A owned=([0]=0 [1]=0)
clients=()
while ((${#clients[@]} < 4)); do
  i=${#clients[@]}
  wg_key "client$i"
  w=$(worker_of "$WORK/client$i.pub")
  ((owned[$w] < 2)) || continue
  owned[$w]=$((owned[$w] + 1))
  clients+=("$i")
done

# nobody reads the config and the key again on reload.
chmod 711 "$WORK"
chown nobody "$WORK/server.key"
PORT=$(free_port)
{
  cat <<TOML
[host]
admin = "127.0.0.1:$PORT"
workers = 2
user = "nobody"
[[stage]]
name = "tunnel"
plugin = "wireguard"
netns = "$S"
listen_port = 51820
private_key_file = "$WORK/server.key"
TOML
  for i in "${clients[@]}"; do
    cat <<TOML
[[stage.peer]]
name = "client$i"
public_key = "$(cat "$WORK/client$i.pub")"
allowed_ips = ["10.80.0.1$i/32"]
TOML
  done
  cat <<TOML
[[stage]]
name = "host"
plugin = "tun"
netns = "$S"
device = "ws$RUN_ID"
address = ["10.80.0.1/24"]
TOML
} >"$WORK/server.toml"
start_waygate "$WORK/server.toml" "$WORK/server.log"

metric() { curl -sf --noproxy '*' "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

head -c $((16 * 1024 * 1024)) /dev/urandom >"$WORK/blob"
(cd "$WORK" && exec ip netns exec "$S" python3 -m http.server 8080 --bind 10.80.0.1 >/dev/null 2>&1) &
PIDS+=($!)
wait_for 5 listening "$S" 8080

for i in "${clients[@]}"; do
  c=$(new_ns "c$i")
  ip link add "vc$i$RUN_ID" netns "$c" type veth peer name "vs$i$RUN_ID" netns "$S"
  ip -n "$c" addr add "10.91.$i.2/24" dev "vc$i$RUN_ID"
  ip -n "$S" addr add "10.91.$i.1/24" dev "vs$i$RUN_ID"
  ip -n "$c" link set "vc$i$RUN_ID" up
  ip -n "$S" link set "vs$i$RUN_ID" up
  wireguard_go "$c" "g$i$RUN_ID"
  ip netns exec "$c" wg set "g$i$RUN_ID" private-key "$WORK/client$i.key" \
    peer "$(cat "$WORK/server.pub")" endpoint "10.91.$i.1:51820" allowed-ips 10.80.0.0/24
  ip -n "$c" addr add "10.80.0.1$i/24" dev "g$i$RUN_ID"
  ip -n "$c" link set "g$i$RUN_ID" up mtu 1420
done

echo "== 1. four clients, two workers"
for i in "${clients[@]}"; do
  ip netns exec "wgc$i$RUN_ID" ping -c 2 -i 0.2 -W 3 10.80.0.1 >/dev/null ||
    fail "client$i (worker $(worker_of "$WORK/client$i.pub")) cannot reach the connector"
done
pass "every client's handshake completed (two owned by each worker)"
# Each worker lists the peers it owns; the admin API gathers them into one list.
curl -sf --noproxy '*' "http://127.0.0.1:$PORT/v1/peers" >"$WORK/peers.json" || fail "GET /v1/peers"
listed=$(python3 -c 'import json, sys; print(" ".join(sorted(p["name"] for p in json.load(open(sys.argv[1]))["peers"] if p["session"])))' "$WORK/peers.json")
[[ $listed == "client0 client1 client2 client3" ]] || fail "/v1/peers lists sessions for '$listed': $(cat "$WORK/peers.json")"
pass "/v1/peers gathers both workers' peers, each with its session"
before0=$(cpu_ticks "worker 0")
before1=$(cpu_ticks "worker 1")
downloads=()
for i in "${clients[@]}"; do
  ip netns exec "wgc$i$RUN_ID" curl -sS --noproxy '*' -f -o "$WORK/fetched$i" "http://10.80.0.1:8080/blob" &
  downloads+=($!)
done
for pid in "${downloads[@]}"; do wait "$pid" || fail "a download failed"; done
for i in "${clients[@]}"; do
  cmp -s "$WORK/blob" "$WORK/fetched$i" || fail "client$i's 16 MiB download differs"
done
pass "four 16 MiB downloads at once, each identical"

echo "== 2. both workers, steered"
used0=$(($(cpu_ticks "worker 0") - before0))
used1=$(($(cpu_ticks "worker 1") - before1))
((used0 >= 5 && used1 >= 5)) || fail "a worker sat idle: worker 0 used $used0 ticks, worker 1 $used1"
pass "both workers carried traffic: $used0 and $used1 ticks of CPU"
received=$(metric 'waygate_wireguard_rx_packets_total{stage="tunnel"}')
handed=$(metric 'waygate_wireguard_handed_over_total{stage="tunnel"}')
handed=${handed:-0}
((received > 2000)) || fail "only $received datagrams counted"
((handed * 20 <= received)) || fail "$handed of $received datagrams and packets were handed to another worker"
lost=$(metric 'waygate_handed_over_lost_total')
((${lost:-0} == 0)) || fail "$lost handed-over packets were lost"
pass "steering: $handed packets handed over for $received datagrams received"

echo "== 3. as nobody"
uid=$(id -u nobody)
want=""
for status in /proc/"$WAYGATE_PID"/task/*/status; do
  name=$(awk '$1 == "Name:" {$1 = ""; print substr($0, 2)}' "$status")
  [[ $(awk '$1 == "Uid:" {print $2, $3, $4, $5}' "$status") == "$uid $uid $uid $uid" ]] ||
    fail "thread $name does not run as nobody: $(grep '^Uid:' "$status")"
  caps=$(awk '$1 ~ /^Cap(Eff|Prm|Bnd):$/ {printf "%s ", $2}' "$status")
  want=${want:-$caps}
  [[ $caps == "$want" ]] || fail "thread $name: capabilities $caps, another thread's $want"
done
(((0x${want%% *} >> 12) & 1)) || fail "the threads kept no CAP_NET_ADMIN: $want"
pass "every thread runs as nobody with the same capabilities (effective, permitted, bounding: $want)"

echo "== 4. what cannot change while running, and what cannot run on two"
sed 's/^workers = 2$/workers = 1/' "$WORK/server.toml" >"$WORK/one.toml"
cp "$WORK/server.toml" "$WORK/two.toml"
cp "$WORK/one.toml" "$WORK/server.toml"
kill -HUP "$WAYGATE_PID"
wait_for 5 grep -q "workers changes from 2 to 1 only with a restart" "$WORK/server.log" ||
  fail "a reload to one worker was not refused"
ip netns exec "wgc${clients[0]}$RUN_ID" ping -c 2 -i 0.2 -W 3 10.80.0.1 >/dev/null || fail "traffic stopped after the refused reload"
pass "a reload changing [host] workers is refused; traffic goes on"
cp "$WORK/two.toml" "$WORK/server.toml"
kill -HUP "$WAYGATE_PID"
wait_for 5 grep -q "reload: applied" "$WORK/server.log" || fail "the same file did not reload"
(($(grep -c "configured again in place" "$WORK/server.log") == 2)) || fail "not both workers took the reload"
for i in "${clients[@]}"; do
  ip netns exec "wgc$i$RUN_ID" ping -c 1 -W 3 10.80.0.1 >/dev/null || fail "client$i lost its tunnel in the reload"
done
pass "a reload is applied by both workers, and every client's tunnel stays"

cat >"$WORK/client.toml" <<TOML
[host]
workers = 2
[[stage]]
name = "inside"
plugin = "tun"
device = "wn$RUN_ID"
[[stage]]
name = "client"
plugin = "client"
TOML
if "$WAYGATE" check -c "$WORK/client.toml" >"$WORK/check.out" 2>&1; then fail "a client stage on two workers passed the check"; fi
grep -q "stage 'client': key 'plugin': 'client' runs on one worker only" "$WORK/check.out" ||
  fail "the check did not say why: $(cat "$WORK/check.out")"
pass "waygate check: $(head -1 "$WORK/check.out")"
# The stock exit node runs on two workers whole: its file with `workers = 2` passes the check.
top=$(cd "$(dirname "$0")/../.." && pwd)
"$WAYGATE" genkey >"$WORK/exit.key"
chmod 600 "$WORK/exit.key"
sed -e 's|^# workers = 2 |workers = 2 |' -e "s|/etc/waygate/connector.key|$WORK/exit.key|" -e "s|/var/lib/waygate|$WORK|g" \
  "$top/configs/exit-node.toml" >"$WORK/exit-node.toml"
grep -q '^workers = 2 ' "$WORK/exit-node.toml" || fail "configs/exit-node.toml has no '# workers = 2' line to take"
"$WAYGATE" check -c "$WORK/exit-node.toml" >"$WORK/check.out" 2>&1 || fail "exit-node.toml on two workers: $(cat "$WORK/check.out")"
pass "configs/exit-node.toml with workers = 2: $(cat "$WORK/check.out")"
