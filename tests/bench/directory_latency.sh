#!/usr/bin/env bash
# How long a change of the directory in etcd takes to reach every connector: a three-member etcd
# cluster and three connectors (a stats stage each) in a namespace of the run's own; 100 pushes,
# each adding an identity; for each, the time from the push's start to the log line of every
# connector that applied it ("reload: applied (the directory at etcd revision R)"). Prints the
# median, the 99th percentile and the worst, over all connectors. It asserts nothing.
#   bash tests/bench/directory_latency.sh build/waygate [CHANGES]
source "$(dirname "$0")/../integration/lib.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }
CHANGES=${2:-100}

etcd_cluster
top=$(cd "$(dirname "$0")/../.." && pwd)
sed -n '/^\[overlay\]/,/^# ---- The pipeline/p' "$top/configs/exit-node.toml" >"$WORK/directory.toml"
ip netns exec "$E" "$WAYGATE" directory push -c "$WORK/directory.toml" --etcd "$ETCD" >/dev/null

for c in 1 2 3; do
  etcd_connector "127.0.0.1:919$c" "$WORK/state$c" "c$c" >"$WORK/c$c.toml"
  start_waygate "$WORK/c$c.toml" "$WORK/c$c.log" "$E"
done

ip netns exec "$E" python3 - "$WAYGATE" "$ETCD" "$WORK" "$CHANGES" <<'PY'
import base64, datetime, os, re, subprocess, sys, time
waygate, etcd, work, changes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
logs = [f"{work}/c{c}.log" for c in (1, 2, 3)]
applied = re.compile(r"^(\S+ \S+) info reload: applied \(the directory at etcd revision (\d+)\)")
def seen(path):  # revision -> the wall time its reload was applied
    out = {}
    for line in open(path):
        m = applied.match(line)
        if m:
            out[int(m.group(2))] = time.mktime(datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timetuple()) + \
                int(m.group(1)[-3:]) / 1000
    return out
directory = open(f"{work}/directory.toml").read()
latencies = []
for i in range(changes):
    key = base64.b64encode(os.urandom(32)).decode()
    directory += f'\n[[identity]]\nname = "probe-{i}"\npublic_key = "{key}"\n'
    open(f"{work}/next.toml", "w").write(directory)
    start = time.time()
    out = subprocess.run([waygate, "directory", "push", "-c", f"{work}/next.toml", "--etcd", etcd],
                         capture_output=True, text=True, check=True).stdout
    revision = int(re.search(r"etcd revision (\d+)", out).group(1))
    deadline = start + 10
    while True:
        times = []
        for path in logs:
            later = [t for r, t in seen(path).items() if r >= revision]
            if later:
                times.append(min(later))
        if len(times) == len(logs) or time.time() > deadline:
            break
        time.sleep(0.02)
    if len(times) < len(logs):
        sys.exit(f"change {i} (revision {revision}) reached {len(times)} of {len(logs)} connectors in 10 s")
    latencies += [max(0.0, t - start) * 1000 for t in times]
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"{changes} changes x {len(logs)} connectors: push to applied, median {pick(0.5):.0f} ms, "
      f"p99 {pick(0.99):.0f} ms, worst {latencies[-1]:.0f} ms (log times at 1 ms)")
PY
