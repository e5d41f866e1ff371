#!/bin/sh
# keepalived's notify FIFO reader for a Waygate connector pair: it tells the connector's nat stage
# the role VRRP gave this machine (MASTER: active; BACKUP, FAULT, STOP: standby) and what
# keepalived said, which `waygate doctor` shows. keepalived writes each transition as a line into
# a FIFO, in order, and runs this script once to read them. (Its `notify` runs a script per
# transition instead, concurrently: a MASTER and then a BACKUP within a moment could reach the
# connector the other way round and leave it active beside its peer.) In keepalived.conf's
# global_defs, with the connector's admin API (and its token file, if the admin API asks for one):
#   vrrp_notify_fifo /run/waygate-vrrp.fifo
#   vrrp_notify_fifo_script "/etc/keepalived/waygate-notify.sh http://127.0.0.1:9190 [/etc/waygate/admin.token]"
# keepalived appends the FIFO's name; each line reads: INSTANCE "NAME" STATE PRIORITY.
set -u
admin=$1
token=""
if [ $# -eq 3 ]; then
  token=$(cat "$2")
fi
eval "fifo=\${$#}"
while read -r type name state priority; do
  [ "$type" = INSTANCE ] || continue
  name=${name#\"}
  name=${name%\"}
  case $state in
    MASTER) role=active ;;
    BACKUP | FAULT | STOP | DELETED) role=standby ;;
    *) continue ;;  # MASTER_RX_LOWER_PRI: still MASTER, an advert of a lower priority heard
  esac
  body=$(printf '{"role": "%s", "vrrp": {"instance": "%s", "state": "%s", "priority": %d}}' "$role" "$name" "$state" "${priority:-0}")
  # One at a time, in keepalived's order; a connector that does not answer misses this one only.
  curl -sS -m 2 -X PUT -H 'Content-Type: application/json' ${token:+-H} ${token:+"Authorization: Bearer $token"} \
    "$admin/v1/nat/pair" -d "$body" -o /dev/null || true
done <"$fifo"
