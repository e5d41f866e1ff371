#!/usr/bin/env bash
# The host under a tiny locked-memory limit, as root's many processes leave it in practice: its
# io_uring rings are made while it still holds CAP_IPC_LOCK, so the kernel does not charge their
# pinned pages to RLIMIT_MEMLOCK (shared by every process of the user) once it has dropped it.
# Hosts started in parallel ran out of it and their control plane failed with ENOMEM.
source "$(dirname "$0")/lib.sh"

A=$(new_ns a)
B=$(new_ns b)
port=$(free_port)
wire_config "$WORK/wire.toml" "127.0.0.1:$port" '"10.98.0.1/24"' '"10.98.0.2/24"'
(ulimit -l 16 && exec "$WAYGATE" run -c "$WORK/wire.toml") >"$WORK/host.log" 2>&1 &
WAYGATE_PID=$!
PIDS+=("$WAYGATE_PID")
wait_for 10 grep -q "running" "$WORK/host.log" || fail "the host did not start: $(cat "$WORK/host.log")"
wait_for 5 curl -sf --noproxy '*' "http://127.0.0.1:$port/healthz" || fail "the admin API does not answer: $(cat "$WORK/host.log")"
grep -q "capabilities cap_net_admin,cap_net_raw" "$WORK/host.log" || fail "not running with its capabilities dropped: $(cat "$WORK/host.log")"
ip netns exec "$A" ping -c 2 -i 0.2 -W 2 10.98.0.2 >/dev/null || fail "the wire carries nothing"
pass "with 16 KiB of locked memory allowed, the host runs with its capabilities dropped and answers"
stop_waygate
