#!/usr/bin/env bash
# Overlay addresses given out in etcd: two connectors that take in the same new identities at the
# same moment (both started at once, then both reloading on one push) give each identity one
# address, the same on both and the same as etcd's record, and never one address to two
# identities; an identity removed frees its address for the next; a connector restarted gives
# everyone the address they had. Three etcd members and both connectors in a namespace of the
# run's own.
source "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }

etcd_cluster
directory() { ip netns exec "$E" "$WAYGATE" directory "$@" --etcd "$ETCD"; }

# directory_of FIRST LAST: a pool and identities id-FIRST..id-LAST, none with an address of its own.
directory_of() {
  printf '[overlay]\npool4 = "10.64.0.0/24"\npool6 = "fd64::/64"\n'
  for ((i = $1; i <= $2; i++)); do
    printf '[[identity]]\nname = "id-%d"\npublic_key = "%s"\n' "$i" \
      "$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode())' "$i")"
  done
}

# held: "KEY ADDRESS" per line, sorted, as etcd records them.
held() {
  etcdctl_ get --prefix /waygate/addresses/ | paste - - | awk '{sub("/waygate/addresses/", "", $1); print $2, $1}' | sort
}
# seen N: "KEY ADDRESS" per line, sorted, as connector N recorded them in its state folder.
seen() { awk '!/^#/ {for (i = 2; i <= NF; i++) print $1, $i}' "$WORK/state$1/overlay-addresses" 2>/dev/null | sort; }
count() { [[ $(seen "$1" | wc -l) -eq $2 ]]; }

# agree N: both connectors and etcd hold the same N addresses, each once.
agree() {
  local n=$1 a b h
  wait_for 10 count 1 "$n" || fail "connector 1 holds $(seen 1 | wc -l) addresses, not $n"
  wait_for 10 count 2 "$n" || fail "connector 2 holds $(seen 2 | wc -l) addresses, not $n"
  a=$(seen 1) b=$(seen 2) h=$(held)
  [[ $a == "$b" ]] || fail "the connectors disagree: $(diff <(echo "$a") <(echo "$b") | head -5 | tr '\n' ' ')"
  [[ $a == "$h" ]] || fail "the connectors and etcd disagree: $(diff <(echo "$a") <(echo "$h") | head -5 | tr '\n' ' ')"
  [[ -z $(awk '{print $2}' <<<"$a" | sort | uniq -d) ]] || fail "one address given twice: $(awk '{print $2}' <<<"$a" | sort | uniq -d | head -3)"
  [[ -z $(awk '{print $1, ($2 ~ /:/)}' <<<"$a" | sort | uniq -d) ]] || fail "an identity holds two addresses of one family"
}

directory_of 1 70 >"$WORK/first.toml"
directory push -c "$WORK/first.toml" >/dev/null || fail "push"

# Both started at once: neither finds an address given out yet.
for n in 1 2; do
  etcd_connector "127.0.0.1:919$n" "$WORK/state$n" "connector-$n" >"$WORK/c$n.toml"
  ip netns exec "$E" "$WAYGATE" run -c "$WORK/c$n.toml" >"$WORK/c$n.log" 2>&1 &
  PIDS+=($!)
  eval "C${n}_PID=$!"
done
agree 140
pass "two connectors started at once give 70 identities 140 addresses (claims beyond one transaction's 128 operations), each once, the same on both and in etcd"

# One push, both reload at once: 30 identities gone, 60 new ones.
directory_of 31 130 >"$WORK/second.toml"
directory push -c "$WORK/second.toml" >/dev/null || fail "second push"
agree 200
[[ $(seen 1 | grep -c ' 10\.64\.0\.[2-9]$') -gt 0 ]] || fail "the addresses of removed identities were not given again"
pass "a push both connectors take in at once: 100 identities, 200 addresses, each once; the removed identities' addresses given to new ones"
overtaken=$(cat "$WORK/c1.log" "$WORK/c2.log" | grep -c "overtaken" || true)
echo "  (claims overtaken by the other connector and made again: $overtaken)"

# A restart gives everyone the address they had.
before=$(seen 1)
kill "$C1_PID"
wait "$C1_PID" 2>/dev/null || true
rm -rf "$WORK/state1"
ip netns exec "$E" "$WAYGATE" run -c "$WORK/c1.toml" >"$WORK/c1-again.log" 2>&1 &
PIDS+=($!)
agree 200
[[ $(seen 1) == "$before" ]] || fail "a restart without its state folder changed addresses"
pass "connector 1, restarted without its state folder, gives every identity the address etcd holds for it"
