"""lbd's systemd notify protocol (Type=notify), against a NOTIFY_SOCKET the
test owns: READY=1 once listening, RELOADING=1 then READY=1 around every
reload, STOPPING=1 on SIGTERM, readable STATUS= lines, WATCHDOG=1 pings."""
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

    def test_no_watchdog_pings_unless_asked(self):
        lbd, notify = self.start_with_notify(config([pool("app", [self.backend()])]))
        time.sleep(1.0)
        self.assertEqual(notify.watchdog_times(), [])
        self.assertEqual(notify.states(), ["READY"])


if __name__ == "__main__":
    import unittest
    unittest.main()
