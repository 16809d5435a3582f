#!/usr/bin/env python3
"""Prints the CPU time (utime + stime from /proc, in microseconds) that the
process tree rooted at PID has used so far (nginx: master + worker).
tools/bench reads it before and after a round: the difference over the
requests served is the proxy's own CPU time per request, a figure that
survives a shared machine better than requests per second do."""
import sys

from sse_streams import CLK_TCK, cpu_ticks

if __name__ == "__main__":
    print(int(cpu_ticks(int(sys.argv[1])) * 1_000_000 / CLK_TCK))
