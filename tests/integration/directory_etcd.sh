#!/usr/bin/env bash
# The directory in etcd, written and read by `waygate directory`, against a real three-member etcd
# cluster (three etcd processes in a namespace of the run's own): a push writes one key per object
# and a pull gives the same directory back; a diff names what a push would change; a file that does
# not check is refused and etcd keeps what it had; a push from a read that another admin's change
# has overtaken is refused (no lost update); one member down changes nothing for the commands.
source "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }

etcd_cluster
directory() { ip netns exec "$E" "$WAYGATE" directory "$@" --etcd "$ETCD"; }

top=$(cd "$(dirname "$0")/../.." && pwd)
cp "$top/configs/exit-node.toml" "$WORK/exit-node.toml"
out=$(directory push -c "$WORK/exit-node.toml") || fail "push: $out"
keys=$(etcdctl_ get --prefix /waygate/ --keys-only | grep . | sort | tr '\n' ' ')
[[ $keys == "/waygate/directory/identity/alice /waygate/directory/identity/bob /waygate/directory/overlay /waygate/directory/policy/staff-exit /waygate/directory/pushed /waygate/directory/socket/corporate-exit " ]] ||
  fail "the keys in etcd: $keys"
pass "push writes one key per object: $keys"

directory pull >"$WORK/pulled.toml" || fail "pull failed"
out=$(directory diff -c "$WORK/pulled.toml") || fail "diff of the pulled file: $out"
[[ $out == "no change" ]] || fail "the pulled directory differs from what etcd holds: $out"
pass "pull gives back the same directory ($(grep -c '^\[' "$WORK/pulled.toml") objects), which a diff finds unchanged"

# Another admin's file: bob gone, carol new, the policy also for contractors.
python3 - "$WORK/exit-node.toml" >"$WORK/edited.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r'\[\[identity\]\]\nname = "bob"\n(?:[^\[\n][^\n]*\n)*', "", text)
head, _, tail = text.rpartition('groups = ["staff"]')  # the policy's, the last one
print(head + 'groups = ["staff", "contractors"]' + tail, end="")
PY
cat >>"$WORK/edited.toml" <<'TOML'
[[identity]]
name = "carol"
public_key = "Yb8Ri0vLMdTL7u9XSj3hS0M8zMHnGSKsCufJIcF2I2c="
groups = ["contractors"]
TOML
out=$(directory diff -c "$WORK/edited.toml" 2>&1) || fail "diff of the edited file: $out"
[[ $out == *"+ identity/carol"* && $out == *"- identity/bob"* && $out == *"~ policy/staff-exit"* ]] || fail "diff: $out"
pass "diff names what a push would change: $(head -3 <<<"$out" | tr '\n' ' ')"

# A file that does not check is refused whole, naming the key; etcd keeps what it had.
sed 's/^pool4 = .*/pool4 = "10.64.0.1\/24"/' "$WORK/edited.toml" >"$WORK/broken.toml"
before=$(etcdctl_ get --prefix /waygate/ -w json | python3 -c 'import json, sys; print(json.load(sys.stdin)["header"]["revision"])')
out=$(directory push -c "$WORK/broken.toml" 2>&1) && fail "a broken file was pushed: $out"
[[ $out == *"pool4"* ]] || fail "the refusal does not name the key: $out"
after=$(etcdctl_ get --prefix /waygate/ -w json | python3 -c 'import json, sys; print(json.load(sys.stdin)["header"]["revision"])')
[[ $before == "$after" ]] || fail "a refused push wrote to etcd (revision $before -> $after)"
pass "a broken file is refused ($out) and etcd stays at revision $after"

# Two admins: one pulls (revision R) and edits; meanwhile the other pushes. A push based on R is
# refused; one that reads afresh goes through.
base=$(directory pull | sed -n 's/^# the directory under .* at etcd revision \([0-9]*\)$/\1/p')
[[ -n $base ]] || fail "pull printed no revision"
directory push -c "$WORK/edited.toml" >/dev/null || fail "the other admin's push"
out=$(directory push -c "$WORK/exit-node.toml" --base "$base" 2>&1) && fail "a push from an overtaken read went through: $out"
[[ $out == *"written after revision $base"* ]] || fail "the refusal reads: $out"
etcdctl_ get /waygate/directory/identity/carol --print-value-only | grep -q carol || fail "the other admin's change was lost"
pass "a push based on revision $base, overtaken by another admin's, is refused; carol stays"

# One member down: the commands go to the others.
kill "$ETCD_PID_1"
wait "$ETCD_PID_1" 2>/dev/null || true
out=$(directory push -c "$WORK/exit-node.toml") || fail "push with a member down: $out"
[[ $out == *"- identity/carol"* && $out == *"+ identity/bob"* ]] || fail "push with a member down: $out"
directory pull | grep -q 'name = .bob.' || fail "pull with a member down lacks bob"
pass "with one member of three down, push and pull go on"
