#!/bin/sh
# Runs one varnishtest script for ctest and, when it fails, prints what
# varnishtest -q would hide: the failing step (the "----" lines), and the
# last lines of the verbose log with lbd's own stderr. A CI log then says
# why a script failed, not only that it did.
#
#   run_vtc.sh VARNISHTEST LBD_BINARY VTC_DIR SCRIPT
set -u

if [ $# -ne 4 ]; then
  echo "usage: $0 VARNISHTEST LBD_BINARY VTC_DIR SCRIPT" >&2
  exit 2
fi
varnishtest=$1 lbd=$2 vtcdir=$3 script=$4

log=$(mktemp "${TMPDIR:-/tmp}/vtc-log.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT
"$varnishtest" -v -t 60 -Dlbd="$lbd" -Dvtcdir="$vtcdir" "$script" >"$log" 2>&1
status=$?
if [ "$status" -ne 0 ]; then
  echo "== $script failed (varnishtest exit $status)"
  echo "== the failing steps:"
  grep -- '^---- ' "$log"
  echo "== lbd's stderr:"
  grep -E '^\*\*\*\* p[0-9]+ +stderr\|' "$log" | tail -n 40
  echo "== the last 80 lines of the verbose log:"
  tail -n 80 "$log"
fi
exit "$status"
