"""Graceful stop (issue 7 §3): SIGTERM stops accepting at once, a long
streamed response in flight completes, keep-alive clients are told
Connection: close (busy) or closed (idle), and lbd exits 0; SIGUSR1
reopens the access log after rotation."""
import os
import signal
import socket
import time

from httpwire import build_request, get, wait_until
from lbd_harness import LbdTestCase, config, pool
import fake_backend as fb

STREAM_EVENTS = 10
STREAM_INTERVAL = 0.5  # 10 events over ~4.5 s


def read(path):
    with open(path) as f:
        return f.read()


class GracefulStopTest(LbdTestCase):
    def test_sigterm_during_a_5s_stream(self):
        backend = self.backend(fb.when(lambda req: req.target == "/stream",
                                       fb.events(STREAM_EVENTS, STREAM_INTERVAL),
                                       fb.delayed(1.0)))
        cfg = config([pool("app", [backend], timeouts={"connect": "1s", "response": "10s"})])
        cfg["shutdown_timeout"] = "10s"
        cfg["workers"] = 2
        lbd = self.start_lbd(cfg)

        streaming = self.client()
        streaming.send(build_request("GET", "/stream"))
        idle = self.client()
        self.assertEqual(idle.request().status, 200)
        busy = self.client()
        self.assertEqual(busy.request().status, 200)  # keep-alive so far
        self.assertTrue(wait_until(lambda: len(backend.sent_at) >= 2, 3), "stream did not start")
        busy.send(build_request("GET", "/busy"))  # answered after 1 s
        time.sleep(0.2)

        lbd.signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        time.sleep(0.3)
        with self.assertRaises(ConnectionRefusedError, msg="still accepting after SIGTERM"):
            socket.create_connection(("127.0.0.1", lbd.port), timeout=2).close()
        self.assertClosedPromptly(idle)

        resp = busy.read_response()
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.has_token("Connection", "close"), f"keep-alive response during stop: {resp!r}")
        self.assertClosedPromptly(busy)

        resp = streaming.read_response()
        self.assertEqual(resp.status, 200)
        events = [e for e in resp.body.decode().split("\n\n") if e]
        self.assertEqual(len(events), STREAM_EVENTS, resp.body)
        self.assertIn(f"data: event {STREAM_EVENTS - 1}", events[-1])
        late = [t for t in backend.sent_at if t > stopped_at]
        self.assertGreaterEqual(len(late), 3, "the stream should have been mostly after SIGTERM")
        # Its head went out before SIGTERM; lbd closes once the body is done.
        self.assertClosedPromptly(streaming)

        self.assertEqual(lbd.wait(), 0)
        self.assertIn("stopping", lbd.stderr())

    def test_admin_health_check_fails_as_soon_as_draining_starts(self):
        # keepalived's check (conf/keepalived/check_lbd) moves the VIP away
        # while lbd still finishes its requests in flight.
        backend = self.backend(fb.delayed(2.0))
        lbd = self.proxy([backend])
        client = self.client()
        client.send(build_request("GET", "/slow"))
        time.sleep(0.3)
        lbd.signal(signal.SIGTERM)
        time.sleep(0.3)
        with self.assertRaises(OSError):  # what check_lbd's curl sees
            get(lbd.admin_port, "/healthz")
        self.assertEqual(client.read_response().status, 200)
        self.assertEqual(lbd.wait(), 0)


class LogReopenTest(LbdTestCase):
    def test_sigusr1_reopens_the_access_log_after_rotation(self):
        cfg = config([pool("app", [self.backend()])])
        log_path = os.path.join(self.tmp.name, "access.log")
        cfg["log"]["access_log"] = log_path
        lbd = self.start_lbd(cfg)
        client = self.client()
        self.assertEqual(client.request("GET", "/before").status, 200)
        self.assertTrue(wait_until(lambda: "/before" in read(log_path), 3))
        os.rename(log_path, log_path + ".1")  # what logrotate does
        self.assertEqual(client.request("GET", "/still-old-file").status, 200)
        lbd.signal(signal.SIGUSR1)
        self.assertTrue(wait_until(lambda: os.path.exists(log_path), 3), "log not reopened")
        self.assertEqual(client.request("GET", "/after").status, 200)
        self.assertTrue(wait_until(lambda: "/after" in read(log_path), 3))
        rotated = read(log_path + ".1")
        self.assertIn("/still-old-file", rotated)
        self.assertNotIn("/after", rotated)


if __name__ == "__main__":
    import unittest
    unittest.main()
