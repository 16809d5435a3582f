#!/usr/bin/env python3
"""Many concurrent server-sent-event streams through a proxy, for tools/bench's
streaming round.

Keeps STREAMS keep-alive connections each asking for one chat reply after
another from lbd-demo-backend's model-server mode (GET /v1/chat/completions:
TOKENS events, INTERVAL_MS apart). After a warm-up of WARMUP seconds it counts,
for DURATION seconds, the server-sent events the clients receive — whole
events (de-chunked, ended by a blank line, holding a data field), not bytes —
and the CPU time (utime + stime from /proc, clock ticks) the process tree
rooted at PID spent meanwhile (nginx: master + worker). A reply that ends
without "data: [DONE]" (cut, error event, bad status) counts as an error.
It also keeps the time between consecutive events of a reply as they reach
the client: a proxy that forwards each event when it comes keeps the
backend's pace (INTERVAL_MS), one that batches them for fewer packets shows
long gaps and bursts; gap_p99_us is their 99th percentile.
Prints one tab-separated record for tools/bench:
  BENCH  events=N  duration_us=N  errors=N  replies=N  gap_p99_us=N
         cpu_us=N (with --pid)
"""

import argparse
import asyncio
import os
import sys
import time

from idle_conns import process_tree

CLK_TCK = os.sysconf("SC_CLK_TCK")
MAX_HEAD = 16 * 1024


def cpu_ticks(root_pid):
    """utime + stime of the process tree rooted at root_pid."""
    total = 0
    for pid in process_tree(root_pid):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
    return total


class Tally:
    def __init__(self):
        self.counting = False
        self.events = 0
        self.errors = 0
        self.replies = 0
        self.gaps = []  # seconds between consecutive events of a reply


class StreamClient(asyncio.Protocol):
    """One connection: a request, its chunked SSE reply, the next request."""

    def __init__(self, tally, request, closed):
        self.tally, self.request, self.closed = tally, request, closed
        self.transport = None
        self.failed = False

    def connection_made(self, transport):
        self.transport = transport
        self.start_reply()

    def start_reply(self):
        self.buf = b""           # undecoded bytes
        self.in_head = True
        self.chunk_left = 0      # bytes of the current chunk still to come
        self.chunk_crlf = False  # the CRLF after a chunk's data is due
        self.event = b""         # the current event's bytes so far
        self.done = False        # "data: [DONE]" seen
        self.last_event_at = None
        self.transport.write(self.request)

    def data_received(self, data):
        self.buf += data
        try:
            self.parse()
        except ValueError:
            self.fail()

    def fail(self):
        if self.tally.counting:
            self.tally.errors += 1
        self.failed = True
        self.transport.close()

    def parse(self):
        if self.in_head:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    raise ValueError("head too large")
                return
            head = self.buf[:end].lower()
            self.buf = self.buf[end + 4:]
            if not head.startswith(b"http/1.1 200") or b"transfer-encoding: chunked" not in head:
                raise ValueError("not a chunked 200")
            self.in_head = False
        while self.buf:
            if self.chunk_crlf:
                if len(self.buf) < 2:
                    return
                if self.buf[:2] != b"\r\n":
                    raise ValueError("chunk without CRLF")
                self.buf = self.buf[2:]
                self.chunk_crlf = False
            elif self.chunk_left:
                piece = self.buf[:self.chunk_left]
                self.buf = self.buf[len(piece):]
                self.chunk_left -= len(piece)
                self.chunk_crlf = self.chunk_left == 0
                self.events_in(piece)
            else:
                line_end = self.buf.find(b"\r\n")
                if line_end < 0:
                    if len(self.buf) > 64:
                        raise ValueError("bad chunk size line")
                    return
                size = int(self.buf[:line_end].split(b";")[0], 16)
                if size == 0:  # the end of the reply (no trailers from these backends)
                    if len(self.buf) < line_end + 4:
                        return  # its final CRLF is still on the way
                    if self.buf[line_end + 2:line_end + 4] != b"\r\n":
                        raise ValueError("bad last chunk")
                    self.buf = self.buf[line_end + 4:]
                    self.end_reply()
                    return
                self.buf = self.buf[line_end + 2:]
                self.chunk_left = size

    def events_in(self, piece):
        *whole, self.event = (self.event + piece).split(b"\n\n")
        now = time.monotonic()
        for event in whole:
            if b"data:" not in event:
                continue  # a comment (a heartbeat)
            if self.tally.counting:
                self.tally.events += 1
                if self.last_event_at is not None:
                    self.tally.gaps.append(now - self.last_event_at)
            self.last_event_at = now
            if event == b"data: [DONE]":
                self.done = True
            elif event.startswith(b"event: error"):
                self.done = False

    def end_reply(self):
        if self.tally.counting:
            if self.done:
                self.tally.replies += 1
            else:
                self.tally.errors += 1
        self.start_reply()

    def connection_lost(self, exc):
        # Closed by the other side mid-reply (we close only after counting).
        if self.tally.counting and not self.failed:
            self.tally.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


async def keep_streaming(loop, host, port, tally, request, stop):
    while not stop.is_set():
        closed = loop.create_future()
        try:
            transport, _ = await loop.create_connection(
                lambda: StreamClient(tally, request, closed), host, port)
        except OSError:
            if tally.counting:
                tally.errors += 1
            await asyncio.sleep(0.1)
            continue
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait([closed, stopped], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        transport.close()
        if closed.done() and not stop.is_set():
            await asyncio.sleep(0.1)  # refused or cut: no reconnect storm on the proxy being measured


async def run(args):
    loop = asyncio.get_running_loop()
    tally, stop = Tally(), asyncio.Event()
    request = (f"GET /v1/chat/completions?tokens={args.tokens}&token_interval_ms={args.interval_ms} "
               f"HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n").encode()
    tasks = [asyncio.ensure_future(keep_streaming(loop, "127.0.0.1", args.port, tally, request, stop))
             for _ in range(args.streams)]
    await asyncio.sleep(args.warmup)
    ticks_before = cpu_ticks(args.pid) if args.pid else None
    started = time.monotonic()
    tally.counting = True
    await asyncio.sleep(args.duration)
    tally.counting = False
    elapsed = time.monotonic() - started
    ticks_after = cpu_ticks(args.pid) if args.pid else None
    stop.set()
    await asyncio.wait(tasks, timeout=5)
    gaps = sorted(tally.gaps)
    gap_p99 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))] if gaps else 0
    record = {"events": tally.events, "duration_us": int(elapsed * 1e6),
              "errors": tally.errors, "replies": tally.replies, "gap_p99_us": int(gap_p99 * 1e6)}
    if args.pid:
        record["cpu_us"] = int((ticks_after - ticks_before) * 1e6 / CLK_TCK)
    rate = tally.events / elapsed
    print(f"{rate:.0f} events/s, {tally.replies} replies, {tally.errors} errors, "
          f"p99 {gap_p99 * 1000:.1f} ms between events"
          + (f", proxy CPU {record['cpu_us'] / max(tally.events, 1):.2f} us/event" if args.pid else ""))
    print("BENCH\t" + "\t".join(f"{k}={v}" for k, v in record.items()))
    return 0 if tally.events else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, help="the proxy whose CPU time is measured")
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--interval-ms", type=int, default=20)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    if not (1 <= args.streams <= 5000 and 1 <= args.tokens <= 100000 and 0 <= args.interval_ms <= 60000
            and 0 < args.duration <= 600 and 0 <= args.warmup <= 60):
        parser.error("out of bounds: streams 1..5000, tokens 1..100000, interval-ms 0..60000, "
                     "duration 0..600 s, warmup 0..60 s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
