#!/usr/bin/env bash
# Connectors registered in etcd under a lease: each says its tunnel (public key, endpoint) and
# load; `waygate connectors` and GET /v1/connectors list them; one killed with SIGKILL leaves the
# list by itself once its lease lapses, one stopped cleanly at once; each arrival and departure is
# taken in by the others as a directory change. Three etcd members and two connectors (a tunnel
# stage and a stats stage each) in a namespace of the run's own.
source "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }

etcd_cluster
top=$(cd "$(dirname "$0")/../.." && pwd)
sed -n '/^\[overlay\]/,/^# ---- The pipeline/p' "$top/configs/exit-node.toml" |
  sed 's/^connector = "connector-1"/connectors = ["connector-1", "connector-2"]/' >"$WORK/directory.toml"
grep -q '^connectors = ' "$WORK/directory.toml" || fail "the exit node's connector line was not found"
ip netns exec "$E" "$WAYGATE" directory push -c "$WORK/directory.toml" --etcd "$ETCD" >/dev/null || fail "push"

for n in 1 2; do
  (umask 077; "$WAYGATE" genkey >"$WORK/c$n.key")
  { etcd_connector "127.0.0.1:919$n" "$WORK/state$n" "connector-$n"
    printf '[[stage]]\nname = "tunnel"\nplugin = "wireguard"\nprivate_key_file = "%s"\nlisten_port = 5182%d\npublic_endpoint = "192.0.2.%d:5182%d"\nidentities = true\n' \
      "$WORK/c$n.key" "$n" "$n" "$n"; } >"$WORK/c$n.toml"
  start_waygate "$WORK/c$n.toml" "$WORK/c$n.log" "$E"
  eval "C${n}_PID=$WAYGATE_PID"
done

connectors() { ip netns exec "$E" "$WAYGATE" connectors -c "$WORK/c1.toml" "$@"; }
alive() { connectors | awk -v n="$1" '$1 == n {print $2}'; }
both_alive() { [[ $(alive connector-1) == yes && $(alive connector-2) == yes ]]; }
wait_for 10 both_alive || fail "the connectors did not register: $(connectors)"
row=$(connectors | awk '$1 == "connector-2"')
key2=$("$WAYGATE" pubkey <"$WORK/c2.key")
[[ $(connectors --json) == *"\"public_key\":\"$key2\""* && $row == *"192.0.2.2:51822"* ]] || fail "connector-2's row: $row"
pass "both connectors registered, each with its tunnel's key and endpoint: $row"

doctor=$(ip netns exec "$E" "$WAYGATE" doctor -c "$WORK/c2.toml" --wait 0.1 2>&1) || true
[[ $doctor == *"registered in etcd as connector-2 (tunnel 192.0.2.2:51822, 0 client(s), 0 NAT session(s))"* ]] ||
  fail "doctor does not show the registration: $doctor"
pass "waygate doctor shows the registration"

listed() { ip netns exec "$E" curl -fsS -m 2 "http://127.0.0.1:9191/v1/connectors"; }
lists_2() { [[ $(listed) == *'"name":"connector-2","endpoint":"192.0.2.2:51822"'* ]]; }
wait_for 5 lists_2 || fail "/v1/connectors: $(listed)"
pass "GET /v1/connectors on connector-1's admin API lists connector-2"

# SIGKILL: no goodbye; the lease lapses within its 10 s, and connector-1 takes the departure in.
reloads() { grep -c "reload: applied" "$WORK/c1.log" || true; }
before=$(reloads)
kill -KILL "$C2_PID"
killed=$(date +%s%N)
gone() { [[ $(alive connector-2) == no ]]; }
wait_for 15 gone || fail "connector-2 is still listed after SIGKILL: $(connectors)"
pass "connector-2, killed, leaves the list by itself $((($(date +%s%N) - killed) / 1000000)) ms later: $(connectors | awk '$1 == "connector-2"')"
more() { [[ $(reloads) -gt $before ]]; }
wait_for 5 more || fail "connector-1 did not take connector-2's departure in"

# Back, then a clean stop: gone at once (the lease revoked).
start_waygate "$WORK/c2.toml" "$WORK/c2-again.log" "$E"
wait_for 10 both_alive || fail "connector-2 did not register again: $(connectors)"
stopped=$(date +%s%N)
stop_waygate
wait_for 3 gone || fail "connector-2 is still listed after a clean stop: $(connectors)"
pass "connector-2 back, then stopped cleanly: gone from the list $((($(date +%s%N) - stopped) / 1000000)) ms later"
