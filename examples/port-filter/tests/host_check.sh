#!/usr/bin/env bash
# host_check.sh WAYGATE PLUGIN_DIR CONFIG: the real host's `waygate check` over the sample config
# (accepted), and over copies in which this plugin, then a stock one, refuses a value: each is
# exit 1 and one line naming the file, line, column, stage and key. The rig cannot show this:
# there the plugin's error is read while its library is loaded; the host prints it afterwards.
# Then `waygate doctor` over the sample config: the plugin's own check among the host's.
set -euo pipefail
waygate=$1 plugins=$2 config=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() {  # FILE: prints what `waygate check` said, returns its exit code
  "$waygate" check -c "$1" --plugin-path "$plugins" 2>&1
}

out=$(check "$config") || { echo "FAIL: the sample config does not check: $out"; exit 1; }
echo "ok: $out"

refused() {  # NAME SED-EXPRESSION EXPECTED-PATTERN
  sed -e "$2" "$config" >"$work/$1.toml"
  local out rc=0
  out=$(check "$work/$1.toml") || rc=$?
  [[ $rc -eq 1 ]] || { echo "FAIL: $1: exit code $rc, expected 1 (output: $out)"; exit 1; }
  grep -qE -- "$3" <<<"$out" || { echo "FAIL: $1: '$out' does not match '$3'"; exit 1; }
  echo "ok: $1: $out"
}

line=$(grep -n '^ports' "$config" | cut -d: -f1)
refused port-zero 's/^ports = .*/ports = [0]/' \
  "^$work/port-zero.toml:$line:[0-9]+: stage 'no-smtp': key 'ports': each value must be from 1 to 65535, got 0\$"
line=$(grep -n '^mtu' "$config" | head -1 | cut -d: -f1)
refused stock-mtu "${line}s/^mtu = .*/mtu = 5/" \
  "^$work/stock-mtu.toml:$line:[0-9]+: stage 'inside': key 'mtu': expected an integer from [0-9]+ to [0-9]+, got 5\$"

# Its own line in `waygate doctor`, among the host's (no connector runs here, so that one fails).
out=$("$waygate" doctor -c "$config" --plugin-path "$plugins" --wait 0.1 2>&1) && { echo "FAIL: doctor passed with no connector running: $out"; exit 1; }
grep -q "^pass no-smtp: blocks 25, 465, 587, 137, 138, 139, 445$" <<<"$out" || { echo "FAIL: doctor says nothing of the stage: $out"; exit 1; }
echo "ok: doctor: $(grep "^pass no-smtp" <<<"$out")"

