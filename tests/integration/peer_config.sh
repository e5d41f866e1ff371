#!/usr/bin/env bash
# A stock WireGuard client configured only by `waygate peer config`: the wg-quick text it prints
# for alice (AllowedIPs 0.0.0.0/0, ::/0) is loaded into wireguard-go as wg-quick would (wg-quick
# strip, its addresses, the default route split in halves as wg-quick's own policy routing would
# avoid clashing), and alice's traffic leaves through the exit node. bob, whom no policy lets use
# it, gets no configuration but the reason.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }

three_hosts 4
wg_key server
wg_key alice
wg_key bob
cat >"$WORK/connector.toml" <<TOML
[host]
admin = ""
state_dir = "state"
[overlay]
pool4 = "10.40.0.0/24"
pool6 = "fd40::/64"
[[identity]]
name = "bob"
public_key = "$(cat "$WORK/bob.pub")"
[[identity]]
name = "alice"
public_key = "$(cat "$WORK/alice.pub")"
groups = ["staff"]
[[socket]]
name = "corporate-exit"
type = "exit_node"
description = "Exit node for all corporate traffic"
egress = ["10.42.0.1", "fd42::1"]
egress_ports = "40000-40999"
dns = ["10.42.0.53"]
allow = ["10.42.0.0/24", "fd42::/64"]  # the outside host's private network: not the internet
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
public_endpoint = "10.41.0.1:51820"
identities = true
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

"$WAYGATE" peer config alice --exit-node corporate-exit -c "$WORK/connector.toml" \
  --private-key-file "$WORK/alice.key" --no-qr >"$WORK/alice.conf" || fail "peer config alice: $(cat "$WORK/alice.conf")"
expected="# alice on corporate-exit (Exit node for all corporate traffic)
[Interface]
PrivateKey = $(cat "$WORK/alice.key")
Address = 10.40.0.3/32, fd40::3/128
DNS = 10.42.0.53

[Peer]
PublicKey = $(cat "$WORK/server.pub")
Endpoint = 10.41.0.1:51820
AllowedIPs = 0.0.0.0/0, ::/0
PersistentKeepalive = 25"
[[ $(cat "$WORK/alice.conf") == "$expected" ]] || fail "alice's configuration:
$(cat "$WORK/alice.conf")"
pass "peer config prints alice's wg-quick configuration with her pool addresses (kept in state_dir)"

set +e
why=$("$WAYGATE" peer config bob --exit-node corporate-exit -c "$WORK/connector.toml" --no-qr 2>&1)
status=$?
set -e
[[ $status == 3 && $why == "bob may not use corporate-exit: denied: staff-exit: who: 'bob' is not group staff" ]] ||
  fail "bob (status $status): $why"
pass "bob gets the reason instead: $why"

[[ $("$WAYGATE" peer config alice --exit-node corporate-exit -c "$WORK/connector.toml" --qr) == *"█"* ]] ||
  fail "no QR code"
pass "--qr draws a QR code"

# As wg-quick would bring it up: wg-quick strip keeps what wg understands.
iface="gq$RUN_ID"
cp "$WORK/alice.conf" "$WORK/$iface.conf"
wireguard_go "$C" "$iface"
ip netns exec "$C" wg setconf "$iface" <(wg-quick strip "$WORK/$iface.conf")
for a in $(sed -n 's/^Address = //p' "$WORK/alice.conf" | tr -d ','); do
  if [[ $a == *:* ]]; then ip -n "$C" addr add "$a" dev "$iface" nodad; else ip -n "$C" addr add "$a" dev "$iface"; fi
done
ip -n "$C" link set "$iface" up mtu 1420
for prefix in 0.0.0.0/1 128.0.0.0/1 ::/1 8000::/1; do ip -n "$C" route add "$prefix" dev "$iface"; done
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.42.0.2 >/dev/null || fail "alice cannot reach the outside host with the printed configuration"
ip netns exec "$C" ping -6 -c 2 -i 0.2 -W 3 fd42::2 >/dev/null || fail "... over IPv6"
pass "a stock client with the printed configuration reaches the outside host through the exit node"
