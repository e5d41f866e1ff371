#!/usr/bin/env bash
# A large directory in etcd: 10,000 identities (an IPv4 and an IPv6 pool address each, claimed in
# etcd) and 1,000 policies on one exit node, one connector (policy and stats stages). Prints the
# push's time, the connector's start (reading it, claiming 20,000 addresses, building verdicts)
# and memory, then for one-key changes (a policy's groups) the time from push to applied and the
# bytes etcd sent the connector per change. It asserts nothing.
#   bash tests/bench/directory_scale.sh build/waygate [IDENTITIES] [POLICIES] [CHANGES]
source "$(dirname "$0")/../integration/lib.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }
IDENTITIES=${2:-10000}
POLICIES=${3:-1000}
CHANGES=${4:-20}

# A directory of this size is pushed in one transaction: etcd must take that many operations and
# bytes in one request (its defaults are 128 and 1.5 MiB).
ETCD_FLAGS="--max-txn-ops 50000 --max-request-bytes 67108864" etcd_cluster

python3 - "$WORK/directory.toml" "$IDENTITIES" "$POLICIES" <<'PY'
import base64, hashlib, sys
path, identities, policies = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as f:
    f.write('[overlay]\npool4 = "10.64.0.0/16"\npool6 = "fd64::/64"\n')
    f.write('[[socket]]\nname = "exit"\ntype = "exit_node"\nconnector = "c1"\n')
    for i in range(identities):
        key = base64.b64encode(hashlib.sha256(b"id%d" % i).digest()).decode()
        f.write(f'[[identity]]\nname = "id-{i}"\npublic_key = "{key}"\ngroups = ["g-{i % policies}"]\n')
    for p in range(policies):
        f.write(f'[[policy]]\nname = "p-{p}"\nsockets = ["exit"]\npermissions = ["network"]\ngroups = ["g-{p}"]\n')
PY
started=$(date +%s%N)
ip netns exec "$E" "$WAYGATE" directory push -c "$WORK/directory.toml" --etcd "$ETCD" >/dev/null || fail "push"
echo "push of $IDENTITIES identities and $POLICIES policies: $((($(date +%s%N) - started) / 1000000)) ms"

# The connector reaches etcd at an address of its own, so that an nftables counter on it takes only
# what etcd sends the connector: the pushes, and the gateway's own gRPC calls to etcd, go by
# 127.0.0.1.
ip -n "$E" addr add 10.99.0.1/32 dev lo
{ etcd_connector 127.0.0.1:9190 "$WORK/state" c1 | sed 's|127.0.0.1:237|10.99.0.1:237|g'
  printf '[[stage]]\nname = "policy"\nplugin = "policy"\n'; } >"$WORK/c1.toml"
started=$(date +%s%N)
start_waygate "$WORK/c1.toml" "$WORK/c1.log" "$E"
echo "connector start (read, $((IDENTITIES * 2)) addresses claimed, verdicts): $((($(date +%s%N) - started) / 1000000)) ms, $(grep VmRSS /proc/"$WAYGATE_PID"/status | awk '{print $2 / 1024}') MiB resident"
sleep 4  # its own registration's reload, and the lease's first renewals

ip netns exec "$E" nft -f - <<'NFT'
table inet bench {
  chain out {
    type filter hook output priority 0; policy accept;
    ip saddr 10.99.0.1 tcp sport 2371-2373 counter
  }
}
NFT
sent() { ip netns exec "$E" nft list table inet bench | sed -n 's/.*counter packets [0-9]* bytes \([0-9]*\).*/\1/p'; }
before=$(sent)
ip netns exec "$E" python3 - "$WAYGATE" "$ETCD" "$WORK" "$CHANGES" <<'PY'
import re, subprocess, sys, time, datetime
waygate, etcd, work, changes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
applied = re.compile(r"^(\S+ \S+) info reload: applied \(the directory at etcd revision (\d+)\)")
directory = open(f"{work}/directory.toml").read()
def applied_at(revision):
    for line in open(f"{work}/c1.log"):
        m = applied.match(line)
        if m and int(m.group(2)) >= revision:
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
            return t.timestamp()
    return None
latencies = []
for i in range(changes):
    # one policy's groups: one key
    text = directory.replace('name = "p-7"\nsockets = ["exit"]\npermissions = ["network"]\ngroups = ["g-7"]',
                             f'name = "p-7"\nsockets = ["exit"]\npermissions = ["network"]\ngroups = ["g-7", "g-{i + 1}"]')
    open(f"{work}/next.toml", "w").write(text)
    start = time.time()
    out = subprocess.run([waygate, "directory", "push", "-c", f"{work}/next.toml", "--etcd", etcd],
                         capture_output=True, text=True, check=True).stdout
    revision = int(re.search(r"etcd revision (\d+)", out).group(1))
    while (t := applied_at(revision)) is None:
        if time.time() > start + 30:
            sys.exit(f"change {i} not applied in 30 s")
        time.sleep(0.01)
    latencies.append(max(0.0, t - start) * 1000)
latencies.sort()
# The connector's own part: from the SIGHUP its watch sent to the reload applied.
stamp = lambda line: datetime.datetime.strptime(" ".join(line.split()[:2]), "%Y-%m-%d %H:%M:%S.%f").timestamp()
own, began = [], None
for line in open(f"{work}/c1.log"):
    if "SIGHUP: reloading" in line:
        began = stamp(line)
    elif applied.match(line) and began is not None:
        own.append((stamp(line) - began) * 1000)
        began = None
own = sorted(own[-changes:])
print(f"{changes} one-key changes: push to applied, median {latencies[len(latencies) // 2]:.0f} ms, "
      f"worst {latencies[-1]:.0f} ms (the push itself checks the whole file first); the connector's reload "
      f"alone, median {own[len(own) // 2]:.0f} ms, worst {own[-1]:.0f} ms")
PY
after=$(sent)
echo "etcd sent the connector $(((after - before) / CHANGES)) bytes per change (its watch, its registration's renewals and status); the connector now $(grep VmRSS /proc/"$WAYGATE_PID"/status | awk '{print $2 / 1024}') MiB resident"
