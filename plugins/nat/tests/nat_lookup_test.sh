#!/usr/bin/env bash
# `waygate nat-lookup` on a log with lines it cannot use beside one it can: a line that is not
# JSON, and a whole JSON line without the fields a session needs (edited by hand, say), are
# skipped; the session is still found.
set -euo pipefail
waygate=${1:?usage: $0 path/to/waygate}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cat >"$log" <<'LOG'
{"time":"2026-11-25T10:44:50.000Z","event":"start","connector":"c1","identity":"alice","socket":"corporate-exit","protocol":"tcp","inside":"10.64.0.2:5000","remote":"203.0.113.5:80","outside":"198.51.100.1:40001"}
{"time":"2026-11-25T10:44:51.000Z","event":"start","outside":"198.51.100.1:40001"}
not JSON, "198.51.100.1:40001"
LOG
out=$("$waygate" nat-lookup 198.51.100.1:40001 --at 2026-11-25T10:44:55Z --log "$log" 2>&1) ||
  { echo "FAIL: nat-lookup: $out"; exit 1; }
[[ $out == 'tcp "10.64.0.2:5000" -> "203.0.113.5:80" as 198.51.100.1:40001: identity "alice", socket "corporate-exit", from 2026-11-25T10:44:50.000Z until (still open when the log ends), translated by c1' ]] ||
  { echo "FAIL: nat-lookup said: $out"; exit 1; }
echo "ok: $out"
