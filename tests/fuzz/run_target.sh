#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time and says what it did.
#   run_target.sh BINARY TARGET BUILD_DIR [SECONDS]
# SECONDS defaults to $LBD_FUZZ_SECONDS, else 20. The seed corpus in the
# repository is read but never written: what the run finds goes to a scratch
# corpus under BUILD_DIR/fuzz-corpus/TARGET (kept for the next run), a crash
# to BUILD_DIR/fuzz-crashes/TARGET/, the whole log to BUILD_DIR/fuzz-logs/.
# Exits non-zero when the target crashed, leaked, timed out or ran out of memory.
set -euo pipefail
binary=$1
target=$2
build=$3
seconds=${4:-${LBD_FUZZ_SECONDS:-20}}
here=$(cd "$(dirname "$0")" && pwd)

corpus=$build/fuzz-corpus/$target
crashes=$build/fuzz-crashes/$target
logs=$build/fuzz-logs
mkdir -p "$corpus" "$crashes" "$logs"
log=$logs/$target.log

# The longest input worth trying: a few requests, or a whole config file.
case $target in
  config_loader) max_len=16384 ;;
  sticky_cookie) max_len=256 ;;
  proxy_header) max_len=1024 ;;
  request_path) max_len=8192 ;;
  *) max_len=4096 ;;
esac
args=(-max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=10
      -print_final_stats=1 -artifact_prefix="$crashes/")
case $target in
  request_parser|response_parser|chunked|request_path) args+=(-dict="$here/http.dict") ;;
esac

stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
status=0
"$binary" "${args[@]}" "$corpus" "$here/corpus/$target" >"$log" 2>&1 || status=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
found=$(find "$corpus" -type f | wc -l)
if [ "$status" -ne 0 ]; then
  echo "fuzz $target: FAILED (exit $status) after ${execs:-?} executions; log $log"
  tail -n 80 "$log"
  find "$crashes" -type f -newer "$stamp" | sed 's|^|  kept: |'
  exit "$status"
fi
echo "fuzz $target: ${execs:-?} executions in ${seconds}s, no crash; scratch corpus $found files"
