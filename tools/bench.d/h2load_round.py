#!/usr/bin/env python3
"""One HTTP/2 round for tools/bench: h2load through a proxy over TLS
(ALPN h2), CONNS connections with STREAMS streams each, for DURATION
seconds after a one-second warm-up; meanwhile the CPU time (utime + stime
from /proc, clock ticks) of the process tree rooted at PID (nginx: master
+ worker).

h2load prints no percentiles, so its per-request log (--log-file: start,
status, microseconds to the end of the response) gives p50 and p99.
A request that failed or errored counts as err_read, one answered with a
status other than 2xx/3xx as err_status (the report's error share).
Prints h2load's own output, then one tab-separated record:
  BENCH  requests=N  duration_us=N  p50_us=N  p99_us=N  err_*=N  cpu_us=N
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from sse_streams import cpu_ticks

CLK_TCK = os.sysconf("SC_CLK_TCK")
WARM_UP_S = 1


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True, help="the proxy whose CPU time is measured")
    parser.add_argument("--conns", type=int, default=8)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=6)
    args = parser.parse_args()

    with tempfile.NamedTemporaryFile(prefix="h2load-", suffix=".log") as log:
        cmd = ["h2load", "-c", str(args.conns), "-m", str(args.streams), "-t", str(args.threads),
               f"--warm-up-time={WARM_UP_S}", "-D", str(args.duration), "-T", "10", "-N", "10",
               f"--log-file={log.name}", args.url]
        # The CPU window starts after h2load's warm-up second, as its counts do.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(WARM_UP_S)
        ticks_before = cpu_ticks(args.pid)
        try:
            stdout, _ = proc.communicate(timeout=args.duration + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, _ = proc.communicate()
        ticks_after = cpu_ticks(args.pid)
        out = subprocess.CompletedProcess(cmd, proc.returncode, stdout, "")
        print(out.stdout)
        if out.returncode != 0:
            print(f"h2load exited {out.returncode}", file=sys.stderr)
            return 1
        if "Application protocol: h2" not in out.stdout:
            print("h2load did not negotiate h2", file=sys.stderr)
            return 1
        # "finished in" counts the warm-up too; the req/s beside it (and the
        # request counts) are the main duration's alone.
        m = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out.stdout)
        r = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                      r"(\d+) errored, (\d+) timeout", out.stdout)
        s = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out.stdout)
        if not (m and r and s):
            print("cannot read h2load's summary", file=sys.stderr)
            return 1
        times = []
        with open(log.name) as f:
            for line in f:
                fields = line.split("\t")
                if len(fields) >= 3 and fields[1].isdigit() and 200 <= int(fields[1]) < 400:
                    times.append(int(fields[2]))
        times.sort()
    done, failed, errored, timeouts = int(r.group(3)), int(r.group(5)), int(r.group(6)), int(r.group(7))
    record = {
        "requests": done,
        "duration_us": int(done / max(float(m.group(1)), 1e-9) * 1e6),
        "bytes": 0,
        "p50_us": percentile(times, 50),
        "p99_us": percentile(times, 99),
        "err_connect": 0,
        "err_read": failed + errored,
        "err_write": 0,
        "err_status": int(s.group(3)) + int(s.group(4)),
        "err_timeout": timeouts,
        "cpu_us": int((ticks_after - ticks_before) * 1e6 / CLK_TCK),
    }
    print(f"{float(m.group(1)):.0f} req/s, p99 {record['p99_us'] / 1000:.2f} ms, "
          f"proxy CPU {record['cpu_us'] / max(done, 1):.2f} us/request")
    print("BENCH\t" + "\t".join(f"{k}={v}" for k, v in record.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
