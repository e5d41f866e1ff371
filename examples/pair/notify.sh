#!/bin/sh
# keepalived's notify script for a Waygate connector pair: it tells the connector's nat stage the
# role VRRP gave this machine (MASTER: active; BACKUP, FAULT, STOP: standby) and what keepalived
# said, which `waygate doctor` shows. In keepalived.conf, with the connector's admin API (and its
# token file, if the admin API asks for one):
#   notify "/etc/keepalived/waygate-notify.sh http://127.0.0.1:9190 [/etc/waygate/admin.token]"
# keepalived appends: INSTANCE|GROUP NAME STATE PRIORITY.
set -eu
admin=$1
token=""
if [ $# -eq 6 ]; then
  token=$(cat "$2")
  shift
fi
type=$2 name=$3 state=$4 priority=${5:-0}
[ "$type" = INSTANCE ] || exit 0
case $state in
  MASTER) role=active ;;
  *) role=standby ;;
esac
body=$(printf '{"role": "%s", "vrrp": {"instance": "%s", "state": "%s", "priority": %d}}' "$role" "$name" "$state" "$priority")
if [ -n "$token" ]; then
  exec curl -sS -m 2 -X PUT -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
    "$admin/v1/nat/pair" -d "$body" -o /dev/null
fi
exec curl -sS -m 2 -X PUT -H 'Content-Type: application/json' "$admin/v1/nat/pair" -d "$body" -o /dev/null
