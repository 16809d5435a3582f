#!/usr/bin/env python3
"""Block until lbd accepts connections on HOST:PORT.

    wait_listening.py HOST:PORT LBD_PID

A script's first client must not race lbd's start-up. Fails at once if lbd
exited (e.g. it rejected its config), and after 10 s otherwise.
"""
import os
import socket
import sys
import time


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = sys.argv[1].rsplit(":", 1)
    pid = int(sys.argv[2])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"lbd (pid {pid}) exited before listening on {host}:{port}",
                  file=sys.stderr)
            return 1
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return 0
        except OSError:
            time.sleep(0.05)
    print(f"lbd did not listen on {host}:{port} within 10 s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
