#!/usr/bin/env bash
# What the host tells systemd, heard on a notify socket of the test's own ($NOTIFY_SOCKET, as
# systemd sets it for a Type=notify service): READY=1 with a status once the pipeline runs;
# RELOADING=1 then READY=1 around a reload, whose status says whether it was applied; WATCHDOG=1
# every half of $WATCHDOG_USEC while both the control thread and the worker turn, and none while
# the worker is stuck (a stage's request sleeping in it), which is what a SIGSTOP of the whole
# process cannot show; STOPPING=1. integration.package_install sees the same with systemd itself.
source "$(dirname "$0")/lib.sh"

NS=$(new_ns notify)
cat >"$WORK/listen.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
while True:
    out.write(f"{time.monotonic():.3f} {s.recv(4096).decode().replace(chr(10), ';')}\n")
PY
python3 "$WORK/listen.py" "$WORK/notify.sock" "$WORK/notify.log" &
PIDS+=($!)
wait_for 5 test -S "$WORK/notify.sock"

cat >"$WORK/host.toml" <<TOML
[host]
admin = "127.0.0.1:9190"
[[stage]]
name = "p"
plugin = "probe"
TOML
ip netns exec "$NS" env NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=1000000 \
  "$WAYGATE" run -c "$WORK/host.toml" >"$WORK/host.log" 2>&1 &
PIDS+=($!)
HOST=$!
heard() { grep -q -- "$1" "$WORK/notify.log"; }
fail() { echo "FAIL: $*"; echo "--- what the host said"; cat "$WORK/notify.log"; exit 1; }

wait_for 10 heard "READY=1;STATUS=running $WORK/host.toml with 1 stage(s)" || fail "no READY=1"
echo "ready: $(grep -m1 READY=1 "$WORK/notify.log" | cut -d' ' -f2-)"

# Pets every 0.5 s while all is well.
sleep 2.2
pets=$(grep -c "WATCHDOG=1" "$WORK/notify.log")
((pets >= 4)) || fail "$pets WATCHDOG=1 in 2.2 s, expected one each 0.5 s"
echo "$pets WATCHDOG=1 in the first 2.2 s"

# A reload applied, then one refused: RELOADING=1, then READY=1 saying which.
kill -HUP "$HOST"
wait_for 5 heard "READY=1;STATUS=running $WORK/host.toml with 1 stage(s), reloaded" || fail "no READY=1 after the reload"
heard "RELOADING=1" || fail "no RELOADING=1"
printf '[[stage]]\nname = "p"\nplugin = "probe"\naction = "sideways"\n' >>"$WORK/host.toml.bad"
cp "$WORK/host.toml" "$WORK/host.toml.good"
cat "$WORK/host.toml.bad" >>"$WORK/host.toml"
kill -HUP "$HOST"
wait_for 5 heard "READY=1;STATUS=running the previous config; the reload failed" || fail "no status for the refused reload"
echo "reload: $(grep -o 'STATUS=running the previous config[^;]*' "$WORK/notify.log" | head -c 140)"
cp "$WORK/host.toml.good" "$WORK/host.toml"

# The worker stuck for 4 s: the pets stop (the control thread still turns: it logs why), then resume.
before=$(grep -c "WATCHDOG=1" "$WORK/notify.log")
stall_start=$(python3 -c 'import time; print(f"{time.monotonic():.3f}")')
ip netns exec "$NS" curl -s -m 10 -o /dev/null -H 'Content-Type: application/json' -X POST -d 4000 \
  http://127.0.0.1:9190/v1/probe/p/stall || true
wait_for 10 grep -q "watchdog: the worker has not turned its loop" "$WORK/host.log" || fail "the stuck worker went unnoticed"
sleep 4
python3 - "$WORK/notify.log" "$stall_start" <<'PY' || fail "the pets did not stop while the worker was stuck, or did not resume"
import sys
start = float(sys.argv[2])
times = [float(l.split()[0]) for l in open(sys.argv[1]) if "WATCHDOG=1" in l]
during = [t for t in times if start < t < start + 4.0]
after = [t for t in times if t > start + 4.5]
# Eight pets in 4 s when all is well; the worker's answer to the ping in flight when it stalled
# may let one more through.
print(f"{len(during)} WATCHDOG=1 in the 4 s the worker was stuck (8 otherwise), {len(after)} after it")
sys.exit(0 if len(during) <= 2 and len(after) >= 2 else 1)
PY
grep -m1 "watchdog: the worker" "$WORK/host.log" | cut -d' ' -f3-

kill -TERM "$HOST"
wait "$HOST" || fail "the host did not stop cleanly"
heard "STOPPING=1" || fail "no STOPPING=1"
echo "stopping: STOPPING=1"
echo "ok"
