#!/usr/bin/env bash
# The Debian packages as an operator meets them: built by cpack, installed with dpkg into a fresh
# root (the machine's own system under a copy-on-write overlay, in mount, PID, network, UTS and
# cgroup namespaces of the test's own) booted by systemd as its PID 1. There:
#   - the packages install, their shared-library dependencies are declared (apt-get check names a
#     missing one), the keys are made, `waygate check` passes on the installed config,
#     `systemd-analyze verify` passes on both units, and the example plugin builds and passes its
#     tests against the installed SDK;
#   - `systemctl start waygate@exit-node` returns once the host says READY=1, `systemctl reload`
#     applies an edited file (RELOADING=1, then READY=1 with a status saying so), the journal
#     keeps the stages' fields (WAYGATE_STAGE, WAYGATE_PEER), and a stopped host misses the
#     watchdog and is restarted;
#   - a state file of a newer format stops the start with an error naming it, and is left as it was;
#   - waygate-client@client (in a network namespace of its own) connects, the connector's journal
#     names alice and the socket on its access decision, and the selected exit node comes back
#     with a restart;
#   - an upgrade over the running connector and client restarts each once, keeps /var/lib/waygate
#     (an overlay-addresses file in the previous release's format is read and kept) and the
#     operator's edited configs; purge removes the state;
#   - the exit-node demo runs from the installed files.
# ctest-timeout: 600
source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "$WAYGATE")" && pwd)

command -v cpack >/dev/null && command -v systemd-analyze >/dev/null && [[ -x /lib/systemd/systemd ]] ||
  { echo "SKIP: needs cpack and systemd"; exit 77; }

echo "== the packages"
(cd "$build" && cpack -G DEB >"$WORK/cpack.log" 2>&1) || { cat "$WORK/cpack.log"; exit 1; }
new=$(ls "$build"/packages/waygate_*_amd64.deb)
sdk=$(ls "$build"/packages/waygate-sdk-dev_*_amd64.deb)
version=$(dpkg-deb -f "$new" Version)
# The previous package: the same files under a lower version, so that installing this one over
# it is an upgrade to dpkg, maintainer scripts and all.
dpkg-deb -R "$new" "$WORK/prev"
sed -i "s/^Version: .*/Version: ${version%-*}-0/" "$WORK/prev/DEBIAN/control"
dpkg-deb -b "$WORK/prev" "$WORK/waygate_prev.deb" >/dev/null
rm -rf "$WORK/prev"

# The root: / under an overlay whose writable layer is a tmpfs of this run's.
root=$WORK/root
mkdir -p "$root"
# cgroups: systemd makes its tree under the cgroup it starts in; a folder of this run's in every
# hierarchy, removed at the end, holds it (cpuset's must be given CPUs and memory nodes first).
cgroups=()
make_cgroups() {
  local line hierarchy path dir
  while IFS=: read -r _ hierarchy path; do
    case $hierarchy in
      "") dir=/sys/fs/cgroup/unified ;;
      name=systemd) dir=/sys/fs/cgroup/systemd ;;
      *) dir=/sys/fs/cgroup/${hierarchy} ;;
    esac
    [[ -d $dir ]] || continue
    dir=$dir${path%/}/waygate-pkg-$RUN_ID
    mkdir -p "$dir"
    if [[ -f $dir/cpuset.cpus ]]; then
      cat "$(dirname "$dir")/cpuset.cpus" >"$dir/cpuset.cpus"
      cat "$(dirname "$dir")/cpuset.mems" >"$dir/cpuset.mems"
    fi
    cgroups+=("$dir")
  done </proc/self/cgroup
}
make_cgroups
container="" boot=""
teardown() {
  local rc=$?
  # The PID namespace's first process (systemd, or what was to exec it) takes every other with
  # it; then the boot process goes, and the cgroups left of the tree, innermost first.
  if [[ -n $boot ]]; then
    container=${container:-$(pgrep -P "$boot" || true)}
    [[ -z $container ]] || kill -9 "$container" 2>/dev/null || true
    kill -9 "$boot" 2>/dev/null || true
    wait "$boot" 2>/dev/null || true
  fi
  for dir in "${cgroups[@]}"; do
    for _ in $(seq 20); do
      find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d $dir ]] || break
      sleep 0.1
    done
  done
  cleanup "$rc"
}
trap teardown EXIT

# What the root boots into: sysinit and sockets (the journal), nothing the machine itself runs;
# whatever could touch the machine beyond these namespaces (kernel modules, binfmt, the clock)
# masked.
cat >"$WORK/waygate-test.target" <<'UNIT'
[Unit]
Description=The package test's root
Requires=sysinit.target sockets.target
After=sysinit.target sockets.target
UNIT
cat >"$WORK/boot.sh" <<'BOOT'
set -euo pipefail
root=$1 cgroups=$2 top=$3 work=$4
for dir in $cgroups; do echo $$ >"$dir/cgroup.procs"; done
exec unshare --mount --propagation private --pid --net --uts --cgroup --fork bash -c '
  set -euo pipefail
  root=$1 top=$2 work=$3
  mount -t tmpfs -o mode=755 tmpfs "$root"
  mkdir "$root/upper" "$root/work" "$root/fs"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$root/upper,workdir=$root/work" "$root/fs"
  fs=$root/fs
  mount -t proc proc "$fs/proc"
  # /proc/sys read-only but for the network namespace of its own: a sysctl this root writes
  # cannot reach the machine.
  mount --bind "$fs/proc/sys" "$fs/proc/sys"
  mount --bind "$fs/proc/sys/net" "$fs/proc/sys/net"
  mount -o remount,bind,ro "$fs/proc/sys"
  mount --rbind /sys "$fs/sys"
  mount -o remount,bind,ro "$fs/sys"
  # A /dev of its own, with only the nodes a service may use; its console is the boot log.
  mount -t tmpfs -o mode=755,nosuid tmpfs "$fs/dev"
  mkdir "$fs/dev/net" "$fs/dev/shm" "$fs/dev/pts"
  for n in null zero full random urandom tty; do touch "$fs/dev/$n"; mount --bind "/dev/$n" "$fs/dev/$n"; done
  # The TUN device as udev makes it on Debian, open to all (a node of its own: the machine'"'"'s
  # mode stays as it is).
  mknod -m 0666 "$fs/dev/net/tun" c 10 200
  touch "$fs/dev/console"
  mount --bind "$work/systemd.log" "$fs/dev/console"
  mount -t tmpfs -o mode=1777 tmpfs "$fs/dev/shm"
  mount -t devpts -o newinstance,ptmxmode=0666 devpts "$fs/dev/pts"
  ln -s pts/ptmx "$fs/dev/ptmx"
  ln -s /proc/self/fd "$fs/dev/fd"
  for d in run tmp; do mount -t tmpfs -o mode=1777 tmpfs "$fs/$d"; done
  # The checkout (the demo) and the test folder (the packages), wherever they are.
  for d in "$top" "$work"; do mkdir -p "$fs$d"; mount --bind "$d" "$fs$d"; done
  cp "$work/waygate-test.target" "$fs/etc/systemd/system/"
  for u in systemd-modules-load.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
           systemd-timesyncd.service systemd-udevd.service systemd-udev-trigger.service \
           systemd-tmpfiles-setup-dev.service kmod-static-nodes.service getty.target console-getty.service; do
    ln -sf /dev/null "$fs/etc/systemd/system/$u"
  done
  hostname waygate-pkg
  exec chroot "$fs" env -i container=waygate-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    /lib/systemd/systemd --unit=waygate-test.target --log-target=journal
' boot "$root" "$top" "$work"
BOOT

echo "== booting systemd in a root of its own"
bash "$WORK/boot.sh" "$root" "${cgroups[*]}" "$top" "$WORK" >"$WORK/systemd.log" 2>&1 &
boot=$!
# unit_log: the connector's status and journal, for a failure.
unit_log() {
  in_root systemctl status waygate@exit-node --no-pager || true
  in_root journalctl -u waygate@exit-node -n 40 --no-pager || true
}
# The overlay is mounted in the new mount namespace only: its PID 1 is systemd, once it execs.
for _ in $(seq 100); do
  container=$(pgrep -P "$boot" || true)  # boot.sh execs unshare, whose child becomes systemd
  [[ -n $container && $(cat /proc/"$container"/comm 2>/dev/null) == systemd ]] && break
  sleep 0.1
done
[[ $(cat /proc/"$container"/comm 2>/dev/null) == systemd ]] || { cat "$WORK/systemd.log"; echo "systemd did not start"; exit 1; }
in_root() { nsenter -t "$container" -m -p -n -u -C -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
wait_for 20 in_root test -d /run/systemd/system
wait_for 30 bash -c "nsenter -t $container -m -p -r systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded'"
echo "systemd $(in_root systemctl is-system-running), $(in_root systemctl --version | head -1)"

prev_in=$WORK/waygate_prev.deb new_in=$new sdk_in=$sdk

echo "== install: dpkg -i waygate (the previous version) and waygate-sdk-dev"
in_root dpkg -i "$prev_in" "$sdk_in" >"$WORK/dpkg-install.log" 2>&1 || { cat "$WORK/dpkg-install.log"; exit 1; }
in_root dpkg-query -W -f='${Package} ${Version} ${Status}\n' waygate waygate-sdk-dev
in_root waygate version
[[ $(in_root stat -c '%a %U' /etc/waygate/connector.key) == "600 waygate" ]] || { echo "the connector's key is not waygate's, 600"; exit 1; }
in_root waygate check -c /etc/waygate/exit-node.toml
in_root test -f /usr/lib/cmake/Waygate/WaygateConfig.cmake
in_root systemd-analyze verify /lib/systemd/system/waygate@.service /lib/systemd/system/waygate-client@.service
in_root cp /lib/systemd/system/waygate@.service /run/waygate@exit-node.service
score=$(in_root systemd-analyze security --offline=true /run/waygate@exit-node.service | tail -1)
echo "$score"

echo "== a plugin built against the installed SDK alone, its tests run"
in_root cmake -S "$top/examples/port-filter" -B /root/port-filter -G Ninja >"$WORK/sdk.log" 2>&1 &&
  in_root ninja -C /root/port-filter >>"$WORK/sdk.log" 2>&1 &&
  in_root ctest --test-dir /root/port-filter --output-on-failure >>"$WORK/sdk.log" 2>&1 ||
  { cat "$WORK/sdk.log"; exit 1; }
grep "tests passed" "$WORK/sdk.log"

echo "== systemctl start waygate@exit-node"
# The egress interface the installed config names, in this root's network namespace.
in_root ip link add eth0 type veth peer name outside0
in_root ip link set outside0 up
in_root ip addr add 198.51.100.1/24 dev eth0
in_root ip link set eth0 up
# A watchdog of 2 s rather than 20, so the test sees it act.
in_root mkdir -p /etc/systemd/system/waygate@exit-node.service.d
printf '[Service]\nWatchdogSec=2s\nRestartSec=0.5s\n' | in_root tee /etc/systemd/system/waygate@exit-node.service.d/test.conf >/dev/null
in_root systemctl daemon-reload
in_root systemctl start waygate@exit-node
show() { in_root systemctl show -p "$1" --value waygate@exit-node; }
[[ $(show ActiveState) == active ]] || { echo "not active after start"; exit 1; }
status=$(show StatusText)
echo "status: $status"
[[ $status == "running /etc/waygate/exit-node.toml with 7 stage(s)" ]] || { echo "unexpected status"; exit 1; }
in_root curl -sf http://127.0.0.1:9190/healthz >/dev/null
# Never root: the unit's user, with the capabilities the stages keep.
in_root ps -o user=,pid= -C waygate >"$WORK/ps"
grep -q "^waygate " "$WORK/ps" && ! grep -q "^root " "$WORK/ps" || { cat "$WORK/ps"; echo "the connector runs as root"; exit 1; }
[[ $(in_root stat -c %U /var/lib/waygate/overlay-addresses) == waygate ]]
in_root test -f /var/lib/waygate/overlay-addresses
pid=$(show MainPID)
# The config's nice (-10) on the packet path, raised through the unit's CAP_SYS_NICE, which no
# thread keeps once the pipeline runs (bit 23; the bounding set is the unit's, which the host
# cannot cut without CAP_SETPCAP, and with NoNewPrivileges nothing regains it from there).
niced=$(in_root ps -L -o ni=,comm= -p "$pid" | awk '{n = $1; $1 = ""; print n ":" substr($0, 2)}' | paste -sd' ')
[[ " $niced " == *" -10:worker 0 "* ]] || { echo "the worker is not at nice -10: $niced"; exit 1; }
for set in CapEff CapPrm CapAmb; do
  for cap in $(in_root sh -c "cat /proc/$pid/task/*/status" | awk -v k="$set:" '$1 == k {print $2}'); do
    if (((0x$cap >> 23) & 1)); then echo "$set $cap still holds CAP_SYS_NICE"; exit 1; fi
  done
done
echo "threads: $niced; CAP_SYS_NICE dropped"

echo "== the watchdog: petted while the host runs"
sleep 5
[[ $(show MainPID) == "$pid" && $(show NRestarts) == 0 ]] || { echo "restarted though it ran"; exit 1; }

echo "== systemctl reload after an edit of the config: carol added"
in_root sed -i 's/^\[\[socket\]\]$/[[identity]]\nname = "carol"\npublic_key = "tVFC5xbY5fr3Pu+x1PmBYGrkrTVzlqn6DA6pnGQ8AmM="\ngroups = ["staff"]\n\n&/' \
  /etc/waygate/exit-node.toml
in_root systemctl reload waygate@exit-node
wait_for 10 bash -c "nsenter -t $container -m -p -r systemctl show -p StatusText --value waygate@exit-node | grep -q reloaded"
echo "status: $(show StatusText)"
[[ $(show MainPID) == "$pid" ]] || { echo "reload restarted the host"; exit 1; }

echo "== the portal's new exit node, written into /etc/waygate by the connector's user"
code=$(in_root curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -X POST \
  http://127.0.0.1:9190/v1/sockets -d '{"name": "lab-exit", "description": "the lab", "connector": "connector-1"}')
[[ $code == 201 ]] || { echo "POST /v1/sockets answered $code"; unit_log; exit 1; }
in_root grep -q 'name = "lab-exit"' /etc/waygate/exit-node.toml
echo "created lab-exit: $(in_root stat -c '%U %a' /etc/waygate/exit-node.toml) /etc/waygate/exit-node.toml"

echo "== the journal: lines with their fields"
in_root journalctl -u waygate@exit-node -o json --no-pager >"$WORK/journal.json"
python3 - "$WORK/journal.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ours = [l for l in lines if l.get("SYSLOG_IDENTIFIER") == "waygate"]
assert ours, "no line from waygate in the journal"
staged = [l for l in ours if l.get("WAYGATE_STAGE") == "tunnel"]
assert staged, "no line with WAYGATE_STAGE=tunnel"
carol = [l for l in ours if l.get("WAYGATE_PEER") == "carol"]
assert carol and "peer carol added" in carol[0]["MESSAGE"], "no line with WAYGATE_PEER=carol"
assert any(l["PRIORITY"] == "6" and l["MESSAGE"].startswith("running ") for l in ours)
print(f"{len(ours)} lines from waygate; e.g. {carol[0]['MESSAGE']!r} with WAYGATE_STAGE={carol[0]['WAYGATE_STAGE']}, WAYGATE_PEER=carol")
PY

echo "== the watchdog: a host that stops answering is restarted"
in_root kill -STOP "$pid"
wait_for 30 bash -c "[[ \$(nsenter -t $container -m -p -r systemctl show -p NRestarts --value waygate@exit-node) == 1 ]]" ||
  { unit_log; exit 1; }
wait_for 10 bash -c "nsenter -t $container -m -p -r systemctl is-active -q waygate@exit-node"
in_root journalctl -u waygate@exit-node --no-pager | grep -i "watchdog timeout" | tail -1
pid=$(show MainPID)

echo "== a state file of a newer format: refused by name, left as it was"
in_root cp /var/lib/waygate/overlay-addresses /root/addresses.kept
in_root sed -i '1s/.*/# waygate overlay-addresses 99/' /var/lib/waygate/overlay-addresses
in_root md5sum /var/lib/waygate/overlay-addresses >"$WORK/newer.md5"
in_root systemctl restart waygate@exit-node && { echo "started over a newer state file"; exit 1; }
in_root journalctl -u waygate@exit-node --no-pager | grep "overlay-addresses: overlay-addresses state format 99, but this waygate reads up to 1" | tail -1
in_root md5sum /var/lib/waygate/overlay-addresses | diff - "$WORK/newer.md5"
in_root cp /root/addresses.kept /var/lib/waygate/overlay-addresses
in_root systemctl reset-failed waygate@exit-node
in_root systemctl start waygate@exit-node
pid=$(show MainPID)

echo "== waygate-client@client in a network namespace of its own, alice's laptop"
# alice is the installed client's key; the client knows the installed connector's.
alice=$(in_root sh -c 'waygate pubkey </etc/waygate/client.key')
connector=$(in_root sh -c 'waygate pubkey </etc/waygate/connector.key')
in_root sed -i "s|zdBaguLPLEe2VhwlRJwVda3t1MaJcNr/m0ELqIXVsgQ=|$alice|" /etc/waygate/exit-node.toml
in_root sed -i "s|5lhC8LXGaHlN0ZUo8Vk6OpCn/Ri8KTG4OxF4nHEBvUw=|$connector|" /etc/waygate/client.toml
in_root systemctl reload waygate@exit-node
in_root ip netns add laptop
in_root ip link add lan0 type veth peer name lan1 netns laptop
in_root ip addr add 192.0.2.1/24 dev lan0
in_root ip link set lan0 up
in_root ip -n laptop addr add 192.0.2.10/24 dev lan1
in_root ip -n laptop link set lan1 up
in_root ip -n laptop link set lo up
in_root ip -n laptop route add default via 192.0.2.1
in_root mkdir -p /etc/systemd/system/waygate-client@client.service.d
printf '[Service]\nNetworkNamespacePath=/run/netns/laptop\n' |
  in_root tee /etc/systemd/system/waygate-client@client.service.d/test.conf >/dev/null
in_root systemctl daemon-reload
in_root systemctl start waygate-client@client
laptop() { in_root ip netns exec laptop "$@"; }
wait_for 20 laptop waygate client use corporate-exit -c /etc/waygate/client.toml || {
  laptop waygate client use corporate-exit -c /etc/waygate/client.toml || true
  laptop waygate client exit-nodes -c /etc/waygate/client.toml || true
  laptop waygate client status -c /etc/waygate/client.toml || true
  laptop ping -c1 -W1 198.51.100.1 || true
  in_root systemctl status waygate-client@client --no-pager || true
  in_root journalctl -u waygate-client@client -u waygate@exit-node -n 40 --no-pager || true
  exit 1
}
routes() { laptop ip route show >"$WORK/routes"; grep -q "^0.0.0.0/1 dev waygate0" "$WORK/routes"; }
routes || { cat "$WORK/routes"; echo "no exit-node route"; exit 1; }
# The connector's access decision for alice, with her identity and the socket as fields.
granted() {
  in_root journalctl -u waygate@exit-node -o json --no-pager >"$WORK/journal.json"
  python3 - "$WORK/journal.json" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("WAYGATE_IDENTITY") == "alice" and e.get("WAYGATE_SOCKET") == "corporate-exit" and "granted" in e["MESSAGE"]:
        print(f"WAYGATE_IDENTITY=alice WAYGATE_SOCKET=corporate-exit: {e['MESSAGE']}")
        sys.exit(0)
sys.exit(1)
PY
}
# Her first packet past the clients' API (a ping beyond the exit node) meets the policy stage.
laptop ping -c 2 -W 1 203.0.113.9 >/dev/null || true
wait_for 10 granted || { grep -i alice "$WORK/journal.json" | tail -5; exit 1; }
granted
echo "== the selection kept across a restart of the client"
in_root systemctl restart waygate-client@client
wait_for 10 bash -c "nsenter -t $container -m -p -r journalctl -u waygate-client@client --no-pager | grep -q 'exit node corporate-exit (connector-1) in use again'"
routes || { cat "$WORK/routes"; echo "the exit node's routes were not put back"; exit 1; }
echo "corporate-exit in use again after the restart, its routes back"

echo "== upgrade: dpkg -i the new package over the running connector and client"
# The overlay addresses as the previous release wrote them: no header line (format 0).
in_root sed -i '/^# waygate overlay-addresses /d' /var/lib/waygate/overlay-addresses
in_root cat /var/lib/waygate/overlay-addresses >"$WORK/addresses.v0"
grep -q . "$WORK/addresses.v0" || { echo "no overlay address was recorded"; exit 1; }
in_root md5sum /etc/waygate/exit-node.toml /etc/waygate/client.toml /etc/waygate/connector.key >"$WORK/kept.md5"
client_pid=$(in_root systemctl show -p MainPID --value waygate-client@client)
# The logs only grow; the traffic history and the client's selection stay.
in_root stat -c '%n %s' /var/lib/waygate/nat.log /var/lib/waygate/audit.log >"$WORK/sizes"
in_root test -s /var/lib/waygate/stats.json
in_root grep -q corporate-exit /var/lib/waygate-client/selection.json
client_cursor=$(in_root journalctl -u waygate-client@client -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
cursor=$(in_root journalctl -u waygate@exit-node -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
in_root dpkg -i "$new_in" >"$WORK/dpkg-upgrade.log" 2>&1 || { cat "$WORK/dpkg-upgrade.log"; exit 1; }
[[ $(in_root dpkg-query -W -f='${Version}' waygate) == "$version" ]]
wait_for 10 bash -c "nsenter -t $container -m -p -r systemctl is-active -q waygate@exit-node"
[[ $(show MainPID) != "$pid" ]] || { echo "the upgrade did not restart the connector"; exit 1; }
starts=$(in_root journalctl -u waygate@exit-node --after-cursor "$cursor" --no-pager | grep -c "running /etc/waygate/exit-node.toml with" || true)
[[ $starts == 1 ]] || { echo "the upgrade started the connector $starts times"; exit 1; }
in_root md5sum -c --quiet - <"$WORK/kept.md5" || { echo "the upgrade changed the edited configs or the key"; exit 1; }
in_root grep -q '^name = "carol"' /etc/waygate/exit-node.toml
# The format-0 file was read (every identity kept its address) and is now written as format 1.
in_root cat /var/lib/waygate/overlay-addresses >"$WORK/addresses.v1"
[[ $(head -1 "$WORK/addresses.v1") == "# waygate overlay-addresses 1" ]] || { cat "$WORK/addresses.v1"; exit 1; }
diff <(sort "$WORK/addresses.v0") <(tail -n +2 "$WORK/addresses.v1" | sort) || { echo "addresses changed"; exit 1; }
wait_for 10 bash -c "nsenter -t $container -m -p -r systemctl is-active -q waygate-client@client"
[[ $(in_root systemctl show -p MainPID --value waygate-client@client) != "$client_pid" ]] ||
  { echo "the upgrade did not restart the client"; exit 1; }
while read -r file size; do
  (($(in_root stat -c %s "$file") >= size)) || { echo "$file shrank over the upgrade"; exit 1; }
done <"$WORK/sizes"
in_root test -s /var/lib/waygate/stats.json
wait_for 10 bash -c "nsenter -t $container -m -p -r journalctl -u waygate-client@client --after-cursor '$client_cursor' --no-pager |
  grep -q 'exit node corporate-exit (connector-1) in use again'" ||
  { in_root journalctl -u waygate-client@client -n 20 --no-pager; exit 1; }
routes || { cat "$WORK/routes"; echo "the exit node's routes did not come back after the upgrade"; exit 1; }
echo "restarted once; the overlay addresses (read from format 0), NAT and audit logs, traffic history,"
echo "the client's selection (in use again), the edited configs and the key kept"

echo "== the exit-node demo, from the installed files"
in_root bash "$top/examples/demo/run.sh" --installed >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log"; exit 1; }
grep "hello 198.51.100.1, this is the outside host" "$WORK/demo.log"

echo "== dependencies are declared: with one gone, apt-get check names it"
dep=$(dpkg-deb -f "$new" Depends | grep -o 'libqrencode[0-9]*' || true)
[[ -n $dep ]] || { echo "no library among Depends"; exit 1; }
in_root systemctl stop waygate@exit-node
in_root dpkg -r --force-depends "$dep" >/dev/null 2>&1
in_root apt-get check >"$WORK/apt-check.log" 2>&1 && { echo "apt-get check found nothing missing"; exit 1; }
grep -q "waygate : Depends: $dep" "$WORK/apt-check.log" ||
  { cat "$WORK/apt-check.log"; echo "waygate's dependency on $dep is not declared"; exit 1; }
echo "apt-get check: waygate : Depends: $dep"

echo "== purge"
in_root dpkg --purge waygate >/dev/null
in_root test ! -e /var/lib/waygate
in_root test ! -e /usr/bin/waygate
echo "ok: $score"
