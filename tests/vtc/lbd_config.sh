#!/bin/sh
# Writes the lbd config of one varnishtest script (DESIGN.md §1 schema).
#
#   lbd_config.sh OUT_FILE LISTEN_ADDR NAME=BACKEND_ADDR...
#
# LISTEN_ADDR is the port the script reserved for lbd (a vtc server started
# and stopped at once), so clients can -connect to a macro. The admin
# listener gets a free port of its own: no script talks to it, but the
# default 127.0.0.1:9901 would collide between tests run in parallel.
set -eu

if [ $# -lt 3 ]; then
  echo "usage: $0 OUT_FILE LISTEN_ADDR NAME=BACKEND_ADDR..." >&2
  exit 2
fi
out=$1 listen=$2
shift 2

admin_port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

{
  cat <<YAML
workers: 1
shutdown_timeout: 2s
admin:
  listen: 127.0.0.1:${admin_port}
log:
  level: info
  access_log: off
listeners:
  - name: web
    listen: ${listen}
    routes:
      - {pool: app}
pools:
  - name: app
    backends:
YAML
  for backend in "$@"; do
    echo "      - {name: ${backend%%=*}, address: ${backend#*=}}"
  done
} > "$out"
