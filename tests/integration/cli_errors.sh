#!/usr/bin/env bash
# What an operator sees from `waygate check` and `waygate run` given bad input: one clear line
# naming the file, position and key (or the plugin file and versions), a non-zero exit, no crash.
source "$(dirname "$0")/lib.sh"
TESTPLUGINS=${WAYGATE_PLUGIN_PATH:?}

expect_error() {  # NAME PATTERN TOML
  printf '%s\n' "$3" >"$WORK/$1.toml"
  local out rc=0
  out=$("$WAYGATE" check -c "$WORK/$1.toml" 2>&1) || rc=$?
  [[ $rc -eq 1 ]] || fail "$1: exit code $rc, expected 1 (output: $out)"
  grep -qE -- "$2" <<<"$out" || fail "$1: '$out' does not match '$2'"
  pass "$1: $out"
}

expect_error unknown-key "unknown-key.toml:4:1: stage 'a': key 'colour': unknown key" \
  $'[[stage]]\nname = "a"\nplugin = "tun"\ncolour = "red"'
expect_error wrong-type "wrong-type.toml:4:1: stage 'a': key 'mtu': expected an integer, got a string" \
  $'[[stage]]\nname = "a"\nplugin = "tun"\nmtu = "big"'
expect_error duplicate "duplicate.toml:5:1: key 'name': stage 'a' is defined twice" \
  $'[[stage]]\nname = "a"\nplugin = "tun"\n[[stage]]\nname = "a"\nplugin = "tun"'
expect_error unknown-plugin "unknown-plugin.toml:3:1: stage 'a': key 'plugin': unknown plugin 'warp-drive'" \
  $'[[stage]]\nname = "a"\nplugin = "warp-drive"'
expect_error syntax "syntax.toml:2:" $'[[stage]]\nname = = "a"'
expect_error wrong-abi "built for Waygate SDK ABI [0-9a-f]{8}, but this host uses ABI [0-9a-f]{8}" \
  "[[stage]]
name = \"a\"
plugin = \"$TESTPLUGINS/waygate-wrong-abi.so\""
expect_error no-symbol "no symbol 'waygate_plugin'" \
  "[[stage]]
name = \"a\"
plugin = \"$TESTPLUGINS/waygate-no-symbol.so\""
expect_error missing-file "no such file" \
  "[[stage]]
name = \"a\"
plugin = \"$TESTPLUGINS/waygate-gone.so\""

# What an exit node reaches: prefixes strictly written, never both allowed and denied, and only on
# an exit node.
expect_error allow-host-bits "allow-host-bits.toml:4:1: socket 'x': key 'allow': '10.1.2.3/8' has bits set beyond its length: the prefix is 10.0.0.0/8" \
  $'[[socket]]\nname = "x"\ntype = "exit_node"\nallow = ["10.1.2.3/8"]\n[[stage]]\nname = "a"\nplugin = "tun"'
expect_error deny-not-prefix "deny-not-prefix.toml:4:1: socket 'x': key 'deny': 'lan' is not a prefix" \
  $'[[socket]]\nname = "x"\ntype = "exit_node"\ndeny = ["lan"]\n[[stage]]\nname = "a"\nplugin = "tun"'
expect_error allow-and-deny "allow-and-deny.toml:5:1: socket 'x': key 'deny': 10.0.0.0/8 is both allowed and denied" \
  $'[[socket]]\nname = "x"\ntype = "exit_node"\nallow = ["10.0.0.0/8"]\ndeny = ["10.0.0.0/8"]\n[[stage]]\nname = "a"\nplugin = "tun"'
expect_error allow-on-router "allow-on-router.toml:5:1: socket 'x': key 'allow': a subnet router reaches exactly its routes" \
  $'[[socket]]\nname = "x"\ntype = "subnet_router"\nroutes = ["10.9.0.0/16"]\nallow = ["10.0.0.0/8"]\n[[stage]]\nname = "a"\nplugin = "tun"'

out=$("$WAYGATE" check -c "$WORK/absent.toml" 2>&1) && fail "missing config accepted"
grep -q "absent.toml: cannot open the file" <<<"$out" || fail "missing config: $out"
pass "missing config file"

rc=0
"$WAYGATE" run -c "$WORK/wrong-abi.toml" >"$WORK/run.log" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "run with a wrong-ABI plugin exited $rc"
grep -q "built for Waygate SDK ABI" "$WORK/run.log" || fail "run did not say why"
pass "run refuses a plugin of another ABI and exits 1"

# Every config the project ships (and the example's) passes the same checks.
top=$(cd "$(dirname "$0")/../.." && pwd)
# Their key files and state live under /etc/waygate and /var/lib/waygate: checked here with those
# folders moved into the run's own, with a key made for the occasion.
mkdir -p "$WORK/etc"
(umask 077 && "$WAYGATE" genkey >"$WORK/etc/connector.key" && "$WAYGATE" genkey >"$WORK/etc/client.key")
for config in "$top"/configs/*.toml; do
  sed -e "s|/etc/waygate/|$WORK/etc/|g" -e "s|/var/lib/waygate|$WORK/state|g" "$config" >"$WORK/shipped.toml"
  out=$("$WAYGATE" check -c "$WORK/shipped.toml" 2>&1) || fail "shipped $config does not check: $out"
  pass "shipped $(basename "$config"): $out"
  # Every key the host and the plugins read of it is in the reference: the code's own schema
  # (check --keys) keeps configs/README.md from drifting.
  "$WAYGATE" check --keys -c "$WORK/shipped.toml" >"$WORK/keys.tsv" || fail "check --keys on $config"
  missing=$(python3 - "$WORK/keys.tsv" "$top/configs/README.md" <<'PY'
import re, sys
readme = open(sys.argv[2]).read()
sections = {}
for part in re.split(r"^## ", readme, flags=re.M)[1:]:
    title, _, body = part.partition("\n")
    sections[title] = body
def section_for(s):
    if s.startswith("plugin "):
        return next((t for t in sections if t.startswith("Plugin `%s`" % s[7:])), None)
    if s == "host": return "`[host]`"
    if s == "stage": return "`[[stage]]`"
    if s in ("overlay", "identity", "socket", "policy"):
        return next((t for t in sections if t.startswith("The directory")), None)
    return None
for line in open(sys.argv[1]):
    s, table, key, _type, _default = line.rstrip("\n").split("\t")
    if s == "top": continue
    title = section_for(s)
    body = sections.get(title, "")
    if "`%s`" % key not in body and "`[[%s.%s]]`" % (table, key) not in body:
        print("%s: key %s (table %s)" % (s, key, table))
PY
)
  [[ -z $missing ]] || fail "configs/README.md does not describe what $(basename "$config") has the code read: $missing"
  pass "every key read of $(basename "$config") ($(wc -l <"$WORK/keys.tsv")) is in configs/README.md"
done

# A plugin refusing a value of its own (here the stock policy stage, `audit_log = 5`): the message
# is made in the plugin's code, and `check` unloads plugins before it prints. It once crashed here.
line=$(grep -n '^audit_log = .*access decision' "$top/configs/exit-node.toml" | cut -d: -f1)
expect_error refused-by-plugin "refused-by-plugin.toml:$line:[0-9]+: stage 'policy': key 'audit_log': expected a string" \
  "$(sed -e "s|/etc/waygate/|$WORK/etc/|g" -e "s|/var/lib/waygate|$WORK/state|g" -e "${line}s|^audit_log = .*|audit_log = 5|" \
      "$top/configs/exit-node.toml")"

# A WireGuard key that is a point of small order can never complete a handshake: a listed peer's is
# refused when the stage is configured; an identity's (the directory checks only a key's form, and
# one bad identity must not stop the others) is named by the doctor.
small_order=4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=
expect_error small-order-peer "small-order-peer.toml:6:1: stage 'tunnel': key 'public_key': a point of small order, with which no handshake can ever complete" \
  "[[stage]]
name = \"tunnel\"
plugin = \"wireguard\"
private_key_file = \"$WORK/etc/connector.key\"
[[stage.peer]]
public_key = \"$small_order\""
cat >"$WORK/small-order-identity.toml" <<TOML
[overlay]
pool4 = "10.70.0.0/24"
[[identity]]
name = "alice"
public_key = "$("$WAYGATE" pubkey <"$WORK/etc/client.key")"
[[identity]]
name = "mallory"
public_key = "$small_order"
[[stage]]
name = "tunnel"
plugin = "wireguard"
private_key_file = "$WORK/etc/connector.key"
identities = true
TOML
"$WAYGATE" check -c "$WORK/small-order-identity.toml" >/dev/null 2>&1 || fail "an identity's small-order key stopped the config"
rc=0
out=$("$WAYGATE" doctor -c "$WORK/small-order-identity.toml" --wait 0.1 2>&1) || rc=$?
[[ $rc -eq 1 && $out == *"FAIL identity keys: 1 identity with a public key of small order, which can never complete a handshake: mallory"* ]] ||
  fail "doctor on a small-order identity key (exit $rc): $out"
pass "a small-order key: refused for a listed peer, named by the doctor for an identity"
