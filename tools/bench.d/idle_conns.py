#!/usr/bin/env python3
"""Measures how much resident memory a proxy spends per idle keep-alive client.

Opens COUNT connections to the proxy; each sends one keep-alive GET, reads
the whole response and then stays open and silent. One after another
(--mode sequential), or all at once (--mode burst): every connection is
opened, then every request is sent before any response is read, so the proxy
holds COUNT requests in flight together, then COUNT idle connections. What
the burst took should be given back: the two modes should cost the same per
idle connection. The proxy's RSS (VmRSS summed over the process tree rooted at PID, i.e. nginx's
master and worker, or the single HAProxy / lbd process) is read before and
after. Prints one tab-separated key=value record for tools/bench.
"""

import argparse
import os
import selectors
import socket
import sys
import time


def process_tree(root_pid):
    """Returns root_pid and all its descendants."""
    pids, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        pids.append(pid)
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                pending.extend(int(child) for child in f.read().split())
    return pids


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def read_response(sock):
    """Reads one Content-Length-framed response and returns its status code."""
    data = b""
    while (status := parse_response(data)) is None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the whole response")
        data += chunk
    return status


def parse_response(data):
    """Returns the status of the whole response in `data`, or None if more
    bytes are needed."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.split(b"\r\n")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise ConnectionError("response without Content-Length")
    return int(lines[0].split()[1]) if len(body) >= length else None


def burst(port, count, request, deadline_s=60):
    """Opens `count` connections, sends every request, then reads every
    response. Returns (conns, ok)."""
    conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    for sock in conns:
        sock.sendall(request)
    sel = selectors.DefaultSelector()
    received = {}
    for sock in conns:
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        received[sock] = b""
    ok, left = 0, count
    deadline = time.monotonic() + deadline_s
    while left > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left} responses missing after {deadline_s} s")
        for key, _ in sel.select(timeout=1):
            sock = key.fileobj
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the whole response")
            received[sock] += chunk
            status = parse_response(received[sock])
            if status is not None:
                sel.unregister(sock)
                left -= 1
                ok += status == 200
    sel.close()
    for sock in conns:
        sock.setblocking(True)
    return conns, ok


def still_open(conns):
    """Counts connections the proxy has not closed (no EOF, no reset)."""
    alive = 0
    for sock in conns:
        sock.setblocking(False)
        try:
            if sock.recv(1):
                continue  # unexpected bytes: not an idle connection
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def record(**fields):
    print("\t".join(["mem"] + [f"{k}={v}" for k, v in fields.items()]), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True, help="name used in the record")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="proxy's root pid")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--mode", choices=("sequential", "burst"), default="sequential")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="seconds to wait before each RSS reading")
    args = parser.parse_args()

    request = (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
               "User-Agent: lbd-bench\r\n\r\n").encode()
    time.sleep(args.settle)
    pids = process_tree(args.pid)
    before = rss_kib(pids)

    conns, ok = [], 0
    try:
        if args.mode == "burst":
            conns, ok = burst(args.port, args.count, request)
        else:
            for _ in range(args.count):
                sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
                conns.append(sock)
                sock.sendall(request)
                if read_response(sock) == 200:
                    ok += 1
    except (OSError, ValueError, IndexError) as e:
        record(target=args.target, mode=args.mode, status="failed", opened=len(conns), ok=ok,
               error=f"{type(e).__name__}: {e}")
        return 1

    time.sleep(args.settle)
    pids = process_tree(args.pid)
    after = rss_kib(pids)
    alive = still_open(conns)
    status = "ok" if ok == args.count and alive == args.count else "failed"
    record(target=args.target, mode=args.mode, status=status, conns=args.count, ok=ok,
           still_open=alive, procs=len(pids), rss_before_kib=before,
           rss_after_kib=after)
    for sock in conns:
        sock.close()
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
