#!/usr/bin/env bash
# Least privilege: an exit node with [host] user = "nobody" sets up as root, then every thread of
# it runs as nobody with CAP_NET_ADMIN and CAP_NET_RAW only — effective, permitted, ambient and
# bounding sets — while a client's traffic still flows through the exit; a SIGHUP still reloads
# (the key file is nobody's), one of another shape sets up a whole new pipeline with what is
# left, and SIGTERM still cleans up: the nftables table deleted and the kernel's ephemeral ports
# put back (nft and the sysctl as nobody).
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go not installed"; exit 77; }
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody"; exit 77; }

three_hosts 5
range_before=$(ip netns exec "$S" cat /proc/sys/net/ipv4/ip_local_port_range)
wg_key server
wg_key client
# nobody reads the config and the key again on reload, and writes the state folder.
chmod 711 "$WORK"
chown nobody "$WORK/server.key"
uid=$(id -u nobody)
gid=$(id -g nobody)
# A crypto crew thread beside the worker: it starts after the drop, with the worker's privileges
# and its priority ([host] nice, raised while the worker still may).
exit_connector 5 'admin = "127.0.0.1:9195"
state_dir = "state"
user = "nobody"
crypto_threads = 2
nice = -7' >"$WORK/connector.toml"
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$S"

# CAP_NET_ADMIN (12) and CAP_NET_RAW (13), and nothing else, in every set of every thread.
want=$(printf '%016x' $(((1 << 12) | (1 << 13))))
threads=0
for status in /proc/"$WAYGATE_PID"/task/*/status; do
  threads=$((threads + 1))
  name=$(awk '$1 == "Name:" {print $2}' "$status")
  read -r _ u1 u2 u3 u4 < <(grep '^Uid:' "$status")
  read -r _ g1 g2 g3 g4 < <(grep '^Gid:' "$status")
  [[ "$u1 $u2 $u3 $u4" == "$uid $uid $uid $uid" ]] || fail "thread $name: Uid $u1 $u2 $u3 $u4, not nobody's ($uid)"
  [[ "$g1 $g2 $g3 $g4" == "$gid $gid $gid $gid" ]] || fail "thread $name: Gid $g1 $g2 $g3 $g4, not $gid"
  [[ $(awk '$1 == "Groups:" {print $2 $3}' "$status") == "$gid" ]] || fail "thread $name: $(grep '^Groups:' "$status")"
  for set in CapEff CapPrm CapBnd CapAmb; do
    got=$(awk -v k="$set:" '$1 == k {print $2}' "$status")
    [[ $got == "$want" ]] || fail "thread $name: $set is $got, expected $want (net_admin, net_raw)"
  done
done
((threads >= 3)) || fail "expected the control thread, the worker and its crypto thread, saw $threads"
grep -q "as uid $uid with capabilities cap_net_admin,cap_net_raw" "$WORK/connector.log" || fail "log: $(grep running "$WORK/connector.log")"
[[ $(stat -c %u "$WORK/state") == "$uid" ]] || fail "the state folder is not nobody's"
pass "all $threads threads run as nobody ($uid:$gid) with CapEff=CapPrm=CapBnd=CapAmb=$want (net_admin, net_raw)"

# The packet path's threads at nice -7, set before the drop; the control thread as started.
niced=$(ps -L -o ni=,comm= -p "$WAYGATE_PID" | awk '{n = $1; $1 = ""; print n ":" substr($0, 2)}' | sort | paste -sd' ')
for want_thread in "-7:crypto 1" "-7:worker 0" "0:waygate"; do
  [[ " $niced " == *" $want_thread "* ]] || fail "thread priorities: expected '$want_thread' among: $niced"
done
pass "the worker and its crew run at nice -7, the control thread at 0: $niced"

exit_client 5
exit_traffic 5 4 10.52.0.1
exit_traffic 5 6 fd52::1
pass "traffic flows through the exit with the privileges dropped"
# doctor TEXT: the TCP trains line of `waygate doctor`.
trains_check() { ip netns exec "$S" "$WAYGATE" doctor -c "$WORK/connector.toml" --wait 0.1 | grep "TCP trains" || true; }
check=$(trains_check)
[[ $check == "pass TCP trains: "* ]] || fail "doctor, started as root: $check"

sed -i 's/^state_dir = "state"/state_dir = "state"\nlog_level = "debug"/' "$WORK/connector.toml"
kill -HUP "$WAYGATE_PID"
wait_for 10 grep -q "reload: applied" "$WORK/connector.log" || fail "reload as nobody: $(grep -i reload "$WORK/connector.log")"
ip netns exec "$C" ping -c 2 -i 0.2 -W 3 10.52.0.2 >/dev/null || fail "no traffic after the reload"
pass "SIGHUP as nobody: the config and key read again, applied, traffic goes on"

# A file of another shape (a stage more): the whole pipeline is replaced, its edges set up again
# as nobody — the device, sockets, nftables table, sysctls and offload of a fresh start.
python3 - "$WORK/connector.toml" <<'PY'
import sys
text = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(text.replace('[[stage]]\nname = "nat"', '[[stage]]\nname = "stats"\nplugin = "stats"\n[[stage]]\nname = "nat"'))
PY
grep -q 'name = "stats"' "$WORK/connector.toml" || fail "the test did not add the stage"
kill -HUP "$WAYGATE_PID"
two_applied() { (($(grep -c "reload: applied" "$WORK/connector.log") >= 2)); }
wait_for 10 two_applied ||
  fail "a new pipeline as nobody: $(grep -iE 'reload|error' "$WORK/connector.log" | tail -3)"
# The new tunnel stage holds no session: the client's next handshake (~15 s on) makes one.
wait_for 40 ip netns exec "$C" ping -c 1 -W 1 10.52.0.2 || fail "no traffic through the new pipeline"
exit_traffic 5 4 10.52.0.1
pass "a reload of another shape as nobody: the new pipeline set up with the dropped privileges, traffic flows"
# Whether nobody may open /dev/net/tun decides if the new egress has its trains device; the
# doctor tells which.
check=$(trains_check)
if grep -q "no device for TCP trains" "$WORK/connector.log"; then
  [[ $check == "FAIL TCP trains: the egress stage runs without its device"* ]] || fail "doctor without the device: $check"
else
  [[ $check == "pass TCP trains: "* ]] || fail "doctor with the device: $check"
fi
pass "doctor's TCP trains check tells whether the egress has its device: $check"

stop_waygate
tables=$(ip netns exec "$S" nft list tables)
[[ $tables != *waygate* ]] || fail "a table is left after SIGTERM as nobody: $tables"
range=$(ip netns exec "$S" cat /proc/sys/net/ipv4/ip_local_port_range)
[[ $range == "$range_before" ]] || fail "ephemeral range after stop is '$range', was '$range_before'"
grep -qiE "error|critical" "$WORK/connector.log" && fail "errors on the way: $(grep -iE 'error|critical' "$WORK/connector.log")"
pass "SIGTERM as nobody: the table deleted, the ephemeral range ($range) put back"
