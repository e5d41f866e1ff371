#!/usr/bin/env bash
# SIGHUP: a broken config is refused and the running pipeline keeps forwarding; a good one is
# applied in place (MTU, addresses); one of another shape replaces the pipeline.
source "$(dirname "$0")/lib.sh"

A=$(new_ns a)
B=$(new_ns b)
write_config() {  # MTU, extra left addresses, middle stages
  wire_config "$WORK/wire.toml" "" "\"10.98.0.1/24\"$2" '"10.98.0.2/24"' "mtu = $1" "$3"
}
mtu() { ip -n "$A" -o link show "wl$RUN_ID" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
reloads() { grep -c "$1" "$WORK/waygate.log" || true; }
more_than() { (($(reloads "$1") > $2)); }
hup_and_wait() {  # PATTERN: waits for one more log line matching it
  local before
  before=$(reloads "$1")
  kill -HUP "$WAYGATE_PID"
  wait_for 10 more_than "$1" "$before"
}

write_config 1420 "" ""
start_waygate "$WORK/wire.toml" "$WORK/waygate.log"
# Stop and reload signals wait for the control thread: every other thread keeps SIGHUP, SIGINT
# and SIGTERM (bits 0x4003) blocked, so one arriving during start-up cannot kill the host.
for status in /proc/"$WAYGATE_PID"/task/*/status; do
  [[ $status == */task/$WAYGATE_PID/status ]] && continue
  blocked=$(awk '/^SigBlk:/ {print $2}' "$status")
  (( (16#$blocked & 0x4003) == 0x4003 )) || fail "thread $(dirname "$status") takes stop/reload signals"
done
pass "only the control thread takes SIGHUP, SIGINT and SIGTERM"
ip netns exec "$A" ping -c 1 -W 2 10.98.0.2 >/dev/null || fail "ping before reload"

echo 'this is = = not toml' >"$WORK/wire.toml"
hup_and_wait "reload failed" || fail "broken config not reported"
grep -q "reload failed, still running the previous config: .*wire.toml:1:" "$WORK/waygate.log" || fail "error lacks the position"
ip netns exec "$A" ping -c 1 -W 2 10.98.0.2 >/dev/null || fail "pipeline stopped after a broken reload"
[[ $(mtu) == 1420 ]] || fail "MTU changed by a refused reload"
pass "broken config refused, old pipeline still forwarding"

write_config 1420 "" $'[[stage]]\nname = "middle"\nplugin = "probe"\nmtu_typo = 1'
hup_and_wait "reload failed" || fail "unknown key not reported"
grep -q "stage 'middle': key 'mtu_typo': unknown key" "$WORK/waygate.log" || fail "unknown key not named"
pass "config with an unknown key refused"

write_config 1300 ', "10.98.1.1/24"' ""
hup_and_wait "reload: applied" || fail "good config not applied"
[[ $(mtu) == 1300 ]] || fail "MTU is $(mtu), not 1300"
# Output captured, not piped into grep -q: with pipefail, ip killed by SIGPIPE would fail the check.
[[ $(ip -n "$A" -o addr show "wl$RUN_ID") == *"10.98.1.1/24"* ]] || fail "new address missing"
ip netns exec "$A" ping -c 1 -W 2 10.98.0.2 >/dev/null || fail "ping after in-place reload"
pass "good config applied in place (MTU 1300, new address)"

write_config 1300 "" $'[[stage]]\nname = "middle"\nplugin = "probe"'
hup_and_wait "reload: applied" || fail "new shape not applied"
wait_for 5 ip netns exec "$A" ping -c 1 -W 1 10.98.0.2 || fail "ping after the pipeline was rebuilt"
pass "pipeline of a new shape replaced the old one"
