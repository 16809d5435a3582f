"""lbd's systemd notify protocol (Type=notify), against a NOTIFY_SOCKET the
test owns: READY=1 once listening, RELOADING=1 then READY=1 around every
reload, STOPPING=1 on SIGTERM, readable STATUS= lines, WATCHDOG=1 pings."""
import ctypes
import os
import signal
import socket
import threading
import time

from httpwire import wait_until
from lbd_harness import LbdTestCase, config, pool, to_yaml


class NotifySocket:
    """A unix datagram socket standing in for systemd: records every
    message (a dict of its KEY=VALUE lines) with its arrival time."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self):
        while not self.done.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self.lock:
                self.messages.append((time.monotonic(), fields))

    def close(self):
        self.done.set()
        self.thread.join(2)
        self.sock.close()

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def states(self):
        """READY/RELOADING/STOPPING in the order they came."""
        return [k for _, m in self.snapshot() for k in ("READY", "RELOADING", "STOPPING") if m.get(k) == "1"]

    def statuses(self):
        return [m["STATUS"] for _, m in self.snapshot() if "STATUS" in m]

    def watchdog_times(self):
        return [t for t, m in self.snapshot() if m.get("WATCHDOG") == "1"]


PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def ptrace(request, tid):
    if _libc.ptrace(ctypes.c_long(request), ctypes.c_long(tid), None, None) != 0:
        raise OSError(ctypes.get_errno(), f"ptrace({request:#x}, {tid})")


def thread_ids(pid, comm):
    """Thread ids of pid whose name is comm."""
    tids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() == comm:
                tids.append(int(tid))
    return tids


class FrozenThread:
    """Stops one thread of another process (PTRACE_SEIZE + INTERRUPT stop
    only that thread, unlike SIGSTOP) until the block ends: a wedged
    worker loop, seen from outside."""

    def __init__(self, tid):
        self.tid = tid

    def __enter__(self):
        ptrace(PTRACE_SEIZE, self.tid)
        ptrace(PTRACE_INTERRUPT, self.tid)
        os.waitpid(self.tid, WALL)
        return self

    def __exit__(self, *exc):
        ptrace(PTRACE_DETACH, self.tid)


class SdNotifyTest(LbdTestCase):
    def start_with_notify(self, cfg, watchdog_usec=None):
        notify = NotifySocket(os.path.join(self.tmp.name, "notify.sock"))
        self.addCleanup(notify.close)
        env = {"NOTIFY_SOCKET": notify.path}
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        lbd = self.start_lbd(cfg, extra_env=env)
        return lbd, notify

    def rewrite(self, lbd, cfg):
        with open(lbd.config_path, "w") as f:
            f.write(to_yaml(cfg) + "\n")

    def test_ready_reloading_stopping_in_order(self):
        cfg = config([pool("app", [self.backend()])])
        lbd, notify = self.start_with_notify(cfg)
        self.assertTrue(wait_until(lambda: notify.states() == ["READY"], 5), notify.snapshot())
        ready_status = notify.statuses()[-1]
        self.assertIn(f"serving web on 127.0.0.1:{lbd.port}", ready_status)
        self.assertIn("config generation 1", ready_status)

        lbd.signal(signal.SIGHUP)  # the same, valid file
        self.assertTrue(wait_until(lambda: len(notify.states()) >= 3, 5), notify.snapshot())
        self.assertEqual(notify.states(), ["READY", "RELOADING", "READY"])
        self.assertIn("config generation 2", notify.statuses()[-1])

        broken = dict(cfg, pools=[dict(cfg["pools"][0], strategy="fastest")])
        self.rewrite(lbd, broken)
        lbd.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: len(notify.states()) >= 5, 5), notify.snapshot())
        self.assertEqual(notify.states()[3:], ["RELOADING", "READY"])
        status = notify.statuses()[-1]
        self.assertIn("LAST RELOAD FAILED", status)
        self.assertIn("strategy", status)
        self.assertIn("config generation 2", status)  # still the old one

        lbd.signal(signal.SIGTERM)
        self.assertEqual(lbd.wait(), 0)
        self.assertEqual(notify.states(), ["READY", "RELOADING", "READY", "RELOADING", "READY", "STOPPING"])
        self.assertIn("stopping", notify.statuses()[-1])

    def test_watchdog_pings_at_a_third_of_the_interval(self):
        lbd, notify = self.start_with_notify(config([pool("app", [self.backend()])]),
                                             watchdog_usec=600_000)
        self.assertTrue(wait_until(lambda: len(notify.watchdog_times()) >= 6, 5),
                        f"WATCHDOG=1 pings: {notify.watchdog_times()}")
        times = notify.watchdog_times()
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Generous bounds: 200 ms nominal, never near the 600 ms deadline.
        self.assertLess(max(gaps), 0.5, gaps)
        self.assertEqual(self.client().request().status, 200)

    def test_watchdog_withheld_while_a_worker_loop_is_stuck(self):
        cfg = config([pool("app", [self.backend()])])
        cfg["workers"] = 2
        lbd, notify = self.start_with_notify(cfg, watchdog_usec=600_000)
        self.assertTrue(wait_until(lambda: len(notify.watchdog_times()) >= 3, 5))
        workers = thread_ids(lbd.proc.pid, "lbd-worker-1")
        self.assertEqual(len(workers), 1, "worker threads are named lbd-worker-N")
        with FrozenThread(workers[0]):
            frozen_at = time.monotonic()
            time.sleep(1.5)  # 2.5 watchdog intervals
            pings = [t for t in notify.watchdog_times() if t > frozen_at + 0.5]
            self.assertEqual(pings, [], "WATCHDOG=1 sent while a worker loop was stuck")
            self.assertIn("withholding WATCHDOG=1", lbd.stderr())
        thawed_at = time.monotonic()
        self.assertTrue(wait_until(lambda: [t for t in notify.watchdog_times() if t > thawed_at], 3),
                        "pings did not resume once the worker answered again")
        self.assertEqual(self.client().request().status, 200)

    def test_no_watchdog_pings_unless_asked(self):
        lbd, notify = self.start_with_notify(config([pool("app", [self.backend()])]))
        time.sleep(1.0)
        self.assertEqual(notify.watchdog_times(), [])
        self.assertEqual(notify.states(), ["READY"])


if __name__ == "__main__":
    import unittest
    unittest.main()
