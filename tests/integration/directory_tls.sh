#!/usr/bin/env bash
# The directory in etcd over TLS with client certificates, as a cluster that checks its clients
# runs: a CA made for the run signs etcd's certificate (for 127.0.0.1) and the admin's and the
# connector's; `waygate directory` and a connector ([directory] ca, cert, key) use https members.
# Without a client certificate, or trusting another CA, nothing is read or written.
source "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }

E=$(new_ns e)
cd "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=waygate test CA" \
  -keyout ca.key -out ca.pem 2>/dev/null
other() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=another CA" \
  -keyout other.key -out other.pem 2>/dev/null; }
other
sign() {  # NAME EXTENSIONS: NAME.key and NAME.pem, signed by the run's CA
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile <(printf '%s\n' "$2") \
    -out "$1.pem" 2>/dev/null
}
sign etcd "subjectAltName=IP:127.0.0.1"$'\n'"extendedKeyUsage=serverAuth,clientAuth"
sign admin "extendedKeyUsage=clientAuth"
sign connector "extendedKeyUsage=clientAuth"
chmod 600 ./*.key

ip netns exec "$E" etcd --name m1 --data-dir "$WORK/m1" \
  --listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster m1=http://127.0.0.1:2380 --cert-file etcd.pem --key-file etcd.key \
  --trusted-ca-file ca.pem --client-cert-auth >"$WORK/etcd.log" 2>&1 &
PIDS+=($!)
healthy() { ip netns exec "$E" env ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert ca.pem \
  --cert admin.pem --key admin.key endpoint health; }
wait_for 20 healthy || fail "etcd over TLS did not come up"
directory() { ip netns exec "$E" "$WAYGATE" directory "$@" --etcd https://127.0.0.1:2379; }

top=$(cd "$(dirname "$0")/../.." && pwd)
sed -n '/^\[overlay\]/,/^# ---- The pipeline/p' "$top/configs/exit-node.toml" >directory.toml
out=$(directory push -c directory.toml --ca ca.pem --cert admin.pem --key admin.key) || fail "push over TLS: $out"
directory pull --ca ca.pem --cert admin.pem --key admin.key | grep -q "name = 'alice'" || fail "pull over TLS"
pass "push and pull over TLS with the admin's certificate"

out=$(directory pull --ca ca.pem 2>&1) && fail "a pull without a client certificate went through: $out"
pass "without a client certificate: refused ($(head -c 160 <<<"$out"))"
out=$(directory pull --ca other.pem --cert admin.pem --key admin.key 2>&1) && fail "a pull trusting another CA went through: $out"
[[ $out == *"certificate"* ]] || fail "trusting another CA: $out"
pass "trusting another CA: refused ($(grep -o 'TLS: [^;]*' <<<"$out" | head -1))"
out=$(directory pull 2>&1) && fail "https without a CA went through: $out"
[[ $out == *"https needs a ca"* ]] || fail "https without a ca: $out"

ADMIN=127.0.0.1:9190
cat >connector.toml <<TOML
[host]
admin = "$ADMIN"
state_dir = "$WORK/state"
[directory]
etcd = ["https://127.0.0.1:2379"]
connector = "connector-1"
ca = "ca.pem"
cert = "connector.pem"
key = "connector.key"
[[stage]]
name = "stats"
plugin = "stats"
TOML
start_waygate "$WORK/connector.toml" "$WORK/connector.log" "$E"
identities() { ip netns exec "$E" curl -fsS -m 2 "http://$ADMIN/v1/stats" | python3 -c 'import json, sys; print(" ".join(i["name"] for i in json.load(sys.stdin)["identities"]))'; }
has() { [[ " $(identities) " == *" $1 "* ]]; }
wait_for 5 has bob || fail "the connector did not read the directory over TLS: $(identities)"
cat directory.toml - >more.toml <<'TOML'
[[identity]]
name = "carol"
public_key = "Yb8Ri0vLMdTL7u9XSj3hS0M8zMHnGSKsCufJIcF2I2c="
TOML
directory push -c more.toml --ca ca.pem --cert admin.pem --key admin.key >/dev/null || fail "push carol"
wait_for 5 has carol || fail "the change did not reach the connector over its TLS watch"
pass "a connector reads and watches the directory over TLS with its own certificate: $(identities)"
stop_waygate
