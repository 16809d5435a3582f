"""Parser hardening (issue 12, defects 1, 2 and 10): bytes a client or a
backend sends can neither spin a thread nor make lbd hold unbounded memory,
and what reaches a backend is the request lbd routed.

- A request pipelined behind an upgrade request that is served as plain
  HTTP is the next request, on the proxy listener and on the admin
  listener; lbd's CPU stays near idle and other clients are served.
- Request trailers count against max_header_bytes (431, close); a response
  head over 64 KiB is an invalid response (502).
- An HTTP/1.0 request without Host reaches the backend with the backend's
  address as Host; every field named in Connection is dropped, and a list
  longer than lbd's cap is refused with 400."""
import os
import socket
import time
import unittest

from httpwire import HttpClient, build_request
from lbd_harness import LbdTestCase, echoed, header_values, memory_test_env, rss_tells_lbds_memory
import fake_backend as fb

UPGRADE_FOO = ("GET /first HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: foo\r\n\r\n"
               "GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(lbd):
    """User + system CPU time lbd has used so far (all its threads)."""
    with open(f"/proc/{lbd.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class HardeningTestCase(LbdTestCase):
    def assertNothingMore(self, client, seconds=0.5):
        """No byte arrives on `client` within `seconds` (and it stays open)."""
        self.assertEqual(client.reader.buf, b"")
        client.sock.settimeout(seconds)
        try:
            data = client.sock.recv(4096)
        except socket.timeout:
            return
        self.fail(f"unexpected bytes after the last answer: {data[:200]!r}")

    def assertCpuStaysLow(self, lbd, seconds=1.0, most=0.3):
        """Over `seconds` of wall time lbd, left alone, uses under `most` CPU seconds."""
        before = cpu_seconds(lbd)
        time.sleep(seconds)
        used = cpu_seconds(lbd) - before
        self.assertLess(used, most, f"lbd used {used:.2f} CPU-seconds in {seconds}s while idle")


class PipelinedAfterUpgradeTest(HardeningTestCase):
    def test_request_behind_an_upgrade_request_is_answered_on_the_proxy_listener(self):
        backend = self.backend()
        lbd = self.proxy([backend])
        client = self.client(timeout=3.0)
        client.send(UPGRADE_FOO)
        first = echoed(client.read_response())
        self.assertEqual(first["target"], "/first")
        # Upgrade: foo is not passed on (only websocket is tunnelled).
        self.assertEqual(header_values(first, "Upgrade"), [])
        self.assertEqual(echoed(client.read_response())["target"], "/second")
        self.assertEqual(echoed(client.request("GET", "/third"))["target"], "/third")
        # The worker still serves others, and is idle.
        self.assertEqual(echoed(self.client(timeout=3.0).request("GET", "/other"))["target"], "/other")
        self.assertCpuStaysLow(lbd)

    def test_request_behind_an_upgrade_request_is_answered_on_the_admin_listener(self):
        lbd = self.proxy([self.backend()])
        rss_before = lbd.proc_status_kib("VmRSS")
        client = self.client(lbd.admin_port, timeout=3.0)
        client.send(UPGRADE_FOO.replace("/first", "/healthz").replace("/second", "/healthz"))
        self.assertEqual(client.read_response().status, 200)
        self.assertEqual(client.read_response().status, 200)
        self.assertNothingMore(client)
        other = self.client(lbd.admin_port, timeout=3.0)
        self.assertEqual(other.request("GET", "/healthz", [("Host", "a")]).status, 200)
        self.assertCpuStaysLow(lbd)
        self.assertLess(lbd.proc_status_kib("VmRSS") - rss_before, 16 * 1024)


class TrailerLimitTest(HardeningTestCase):
    def test_a_1_mib_trailer_gets_431_and_no_memory(self):
        backend = self.backend()
        lbd = self.proxy([backend], extra_env=memory_test_env())
        self.assertEqual(self.client().request("GET", "/warm").status, 200)
        rss_before = lbd.proc_status_kib("VmRSS")
        client = self.client(timeout=5.0)
        client.send("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n")
        field = b"X-Trailer-Padding: " + b"v" * 1000 + b"\r\n"
        sent = 0
        try:
            while sent < 1024 * 1024:
                client.send(field)
                sent += len(field)
            client.send(b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # lbd answered and closed before all of it
        resp = client.read_response()
        self.assertEqual(resp.status, 431, resp.start_line)
        self.assertTrue(client.closed_within(3.0))
        self.assertEqual([r.target for r in backend.requests if r.target == "/t"], [])
        if rss_tells_lbds_memory():
            self.assertLess(lbd.proc_status_kib("VmRSS") - rss_before, 512)

    def test_a_small_trailer_passes(self):
        backend = self.backend()
        self.proxy([backend])
        client = self.client()
        client.send("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\n")
        doc = echoed(client.read_response("POST"))
        self.assertEqual(doc["body"], "abc")
        self.assertEqual(header_values(doc, "X-Checksum"), [])  # trailers are not forwarded


class ResponseHeadLimitTest(HardeningTestCase):
    def test_a_1_mib_response_head_is_a_502(self):
        padding = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(1024))
        huge_head = fb.raw(b"HTTP/1.1 200 OK\r\n" + padding + b"Content-Length: 2\r\n\r\nok", keep_alive=False)
        backend = self.backend(huge_head)
        self.proxy([backend], retries=0)
        resp = self.client(timeout=5.0).request("GET", "/big-head")
        self.assertEqual(resp.status, 502, resp.start_line)
        self.assertEqual(resp.header_values("X-Pad-0"), [])
        self.assertEqual(backend.request_count, 1)

    def test_a_60_kib_response_head_passes(self):
        padding = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(60))
        lbd = self.proxy([self.backend(fb.raw(b"HTTP/1.1 200 OK\r\n" + padding + b"Content-Length: 2\r\n\r\nok"))])
        resp = self.client().request("GET", "/")
        self.assertEqual((resp.status, resp.body), (200, b"ok"))
        self.assertEqual(len(resp.header_values("X-Pad-59")), 1)


class InterimResponseFloodTest(HardeningTestCase):
    def test_endless_interim_responses_are_a_502(self):
        # Each 103 re-armed the response timeout: a backend could hold the
        # exchange forever without ever answering.
        def flood(ex, req):
            deadline = time.monotonic() + 20
            try:
                while time.monotonic() < deadline:
                    ex.send(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
                    time.sleep(0.01)
            except OSError:
                pass
            return False
        self.proxy([self.backend(flood)], retries=0)
        resp = self.client(timeout=10.0).request("GET", "/hints")
        self.assertEqual(resp.status, 502, resp.start_line)
        self.assertIn("too many interim (1xx) responses", self.lbd.stderr())

    def test_a_few_interim_responses_pass(self):
        hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" * 3
        self.proxy([self.backend(fb.raw(hints + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))])
        resp = self.client().request("GET", "/")
        self.assertEqual((resp.status, resp.body), (200, b"ok"))


class ForwardedHeadTest(HardeningTestCase):
    def test_http10_request_without_host_gets_the_backend_address(self):
        backend = self.backend()
        self.proxy([backend])
        client = self.client()
        client.send("GET /old HTTP/1.0\r\n\r\n")
        doc = echoed(client.read_response())
        self.assertEqual(header_values(doc, "Host"), [backend.address])

    def test_every_field_named_in_connection_is_dropped(self):
        backend = self.backend()
        self.proxy([backend])
        names = [f"X-Hop-{i}" for i in range(20)]
        headers = [("Connection", ", ".join(names))] + [(n, "secret") for n in names]
        doc = echoed(self.client().request("GET", "/", headers))
        self.assertEqual([k for k, _ in doc["headers"] if k.startswith("X-Hop-")], [])

    def test_an_absurd_connection_list_is_refused(self):
        backend = self.backend()
        self.proxy([backend])
        client = self.client()
        names = ", ".join(f"x-{i}" for i in range(1000))
        client.send(build_request("GET", "/absurd", [("Connection", names)]))
        self.assertEqual(client.read_response().status, 400)
        self.assertClosedPromptly(client)
        self.assertEqual([r.target for r in backend.requests], [])


if __name__ == "__main__":
    unittest.main()
