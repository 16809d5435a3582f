"""Graceful shutdown, the admin health check and the access log
(issue 2 §6)."""
import signal
import socket
import time
import unittest

from httpwire import build_request, get
from lbd_harness import LbdTestCase, config, pool
import fake_backend as fb


class ShutdownTest(LbdTestCase):
    def test_sigterm_finishes_in_flight_request_then_exits_0(self):
        lbd = self.proxy([self.backend(fb.delayed(2.0))])
        client = self.client()
        client.send(build_request("GET", "/slow"))
        time.sleep(0.5)  # the request is at the backend now
        lbd.signal(signal.SIGTERM)
        time.sleep(0.5)
        with self.assertRaises(ConnectionRefusedError, msg="still accepting after SIGTERM"):
            socket.create_connection(("127.0.0.1", lbd.port), timeout=2).close()
        resp = client.read_response()
        self.assertEqual(resp.status, 200)
        self.assertEqual(lbd.wait(), 0)

    def test_sigint_exits_0(self):
        lbd = self.proxy([self.backend()])
        self.assertEqual(self.client().request().status, 200)
        lbd.signal(signal.SIGINT)
        self.assertEqual(lbd.wait(), 0)

    def test_shutdown_timeout_bounds_the_wait(self):
        cfg = config([pool("app", [self.backend(fb.never_answer)],
                           timeouts={"connect": "1s", "response": "60s"})])
        cfg["shutdown_timeout"] = "1s"
        lbd = self.start_lbd(cfg)
        client = self.client()
        client.send(build_request("GET", "/forever"))
        time.sleep(0.3)
        started = time.monotonic()
        lbd.signal(signal.SIGTERM)
        self.assertEqual(lbd.wait(timeout=8), 0)
        self.assertLess(time.monotonic() - started, 5)

    def test_idle_keepalive_clients_do_not_delay_shutdown(self):
        lbd = self.proxy([self.backend()])
        client = self.client()
        self.assertEqual(client.request().status, 200)
        started = time.monotonic()
        lbd.signal(signal.SIGTERM)
        self.assertEqual(lbd.wait(), 0)
        self.assertLess(time.monotonic() - started, 3, "waited for an idle connection")


class AdminTest(LbdTestCase):
    def test_healthz(self):
        lbd = self.proxy([self.backend()])
        self.assertEqual(get(lbd.admin_port, "/healthz").status, 200)


class AccessLogTest(LbdTestCase):
    KEYS = {"time", "client", "method", "path", "status", "bytes_in", "bytes_out",
            "duration_ms", "pool", "backend", "upstream_ms"}

    def test_one_json_line_per_request(self):
        backend = self.backend(name="b1")
        lbd = self.proxy([backend])
        resp = self.client().request("POST", "/logged?q=1", body=b"12345")
        self.assertEqual(resp.status, 200)
        client = self.client()
        client.send(b"GET / HTTP/1.1\r\n\r\n")  # no Host: 400 from lbd itself
        self.assertEqual(client.read_response().status, 400)
        lbd.stop()
        entries = lbd.access_log()
        self.assertEqual(len(entries), 2, lbd.stdout())
        ok, bad = sorted(entries, key=lambda e: e["status"])
        for entry in entries:
            self.assertEqual(set(entry) & self.KEYS, self.KEYS, entry)
        self.assertEqual((ok["method"], ok["status"], ok["pool"], ok["backend"]),
                         ("POST", 200, "app", "b1"))
        self.assertTrue(ok["path"].startswith("/logged"), ok)
        self.assertTrue(ok["client"].startswith("127.0.0.1"), ok)
        self.assertGreaterEqual(ok["bytes_in"], 5)
        self.assertGreaterEqual(ok["bytes_out"], len(resp.body))
        self.assertGreaterEqual(ok["duration_ms"], ok["upstream_ms"])
        self.assertEqual((bad["status"], bad["pool"], bad["backend"]), (400, "-", "-"))

    def test_access_log_to_a_file(self):
        cfg = config([pool("app", [self.backend()])])
        path = f"{self.tmp.name}/access.log"
        cfg["log"]["access_log"] = path
        lbd = self.start_lbd(cfg)
        self.assertEqual(self.client().request("GET", "/to-file").status, 200)
        lbd.stop()
        with open(path) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('"/to-file"', lines[0])
        self.assertNotIn("/to-file", lbd.stdout())

    def test_upstream_error_is_logged_on_stderr(self):
        lbd = self.proxy([self.backend(fb.invalid_response)])
        before = lbd.stderr().count("\n")
        self.assertEqual(self.client().request().status, 502)
        lbd.stop()
        self.assertGreater(lbd.stderr().count("\n"), before, "no log line for the 502")

    def test_log_level_filters_event_logs(self):
        cfg = config([pool("app", [self.backend()])])
        cfg["log"]["level"] = "error"
        lbd = self.start_lbd(cfg)
        self.assertEqual(self.client().request().status, 200)
        lbd.stop()  # start, a request, stop: nothing at level error
        self.assertEqual(lbd.stderr(), "", "lines below log.level: error were logged")


if __name__ == "__main__":
    unittest.main()
