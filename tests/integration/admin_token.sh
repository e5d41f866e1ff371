#!/usr/bin/env bash
# The admin API beyond loopback: refused without an admin_token_file (and one others may read),
# and when bound to a routable address it answers only requests carrying the token.
source "$(dirname "$0")/lib.sh"

A=$(new_ns a)
B=$(new_ns b)
ip link add "va$RUN_ID" netns "$A" type veth peer name "vb$RUN_ID" netns "$B"
ip -n "$A" addr add 10.97.0.1/24 dev "va$RUN_ID"
ip -n "$B" addr add 10.97.0.2/24 dev "vb$RUN_ID"
ip -n "$A" link set "va$RUN_ID" up
ip -n "$B" link set "vb$RUN_ID" up

config() {  # extra [host] lines
  printf '[host]\nadmin = "10.97.0.1:9190"\n%s\n[[stage]]\nname = "p"\nplugin = "probe"\n' "$1" >"$WORK/admin.toml"
}
config ""
out=$("$WAYGATE" check -c "$WORK/admin.toml" 2>&1) && fail "admin beyond loopback without a token was accepted"
[[ $out == *"key 'admin': '10.97.0.1:9190' is not a loopback address: name an admin_token_file"* ]] || fail "$out"
head -c 24 /dev/urandom | base64 >"$WORK/token"
chmod 644 "$WORK/token"
config "admin_token_file = \"$WORK/token\""
out=$("$WAYGATE" check -c "$WORK/admin.toml" 2>&1) && fail "a token file others may read was accepted"
[[ $out == *"key 'admin_token_file': token file $WORK/token has mode 0644"*"chmod 600"* ]] || fail "$out"
chmod 600 "$WORK/token"
pass "refused: a routable admin address without a token, and a token file others may read"

start_waygate "$WORK/admin.toml" "$WORK/waygate.log" "$A"
status() { ip netns exec "$B" curl -s -o /dev/null -w '%{http_code}' -m 5 "$@" http://10.97.0.1:9190/metrics; }
[[ $(status) == 401 ]] || fail "no token: $(status)"
[[ $(status -H "Authorization: Bearer wrong") == 401 ]] || fail "a wrong token was let in"
[[ $(status -H "Authorization: Bearer $(cat "$WORK/token")") == 200 ]] || fail "the token was refused"
pass "the admin API on 10.97.0.1 answers only with the token (401 without it, or with a wrong one)"
