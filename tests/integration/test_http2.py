"""HTTP/2 to clients (issue 14): what a client of lbd notices.

Real clients (curl --http2 over TLS and --http2-prior-knowledge over
clear text, nghttp, h2load) and the frame-level client of h2client.py
(python3-h2) check that each stream becomes one HTTP/1.1 request the
backend can read like any other (:authority as Host, pseudo-headers and
connection-specific fields never forwarded, split cookies joined,
X-Forwarded-* as for HTTP/1.1), that bodies stream both ways with
back-pressure (a tiny client window still gets a large answer whole, one
shut stream does not stall another), that SSE events leave as they come,
that no extended CONNECT is offered, that `http2.enabled: false` keeps a
listener on HTTP/1.1, that a graceful stop lets streams in flight finish,
and that the access log and /metrics tell HTTP/2 apart.

Where the contract leaves a choice, these tests expect what HAProxy and
nginx users would:
- a request carrying a connection-specific field (Connection, Keep-Alive,
  Upgrade, Transfer-Encoding, TE other than "trailers") is malformed
  (RFC 9113 §8.2.2): its stream is reset with PROTOCOL_ERROR and the
  backend never sees it; the connection stays usable.
- the HTTP/2 preface sent to a clear-text listener with http2 disabled
  gets a 4xx answer or a close, and never reaches a backend.
- a reload keeps open HTTP/2 connections working (lbd swaps its config
  in process): a stream in flight across a reload still arrives whole,
  and the connection, or a new one, serves the next request."""
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
import unittest

import h2client as hc
from demo_backends import DemoBackend
from httpwire import HttpClient, wait_until
from lbd_harness import LbdTestCase, config, pool, reload_config
from prom_text import scrape
from test_tls import make_cert
import fake_backend as fb

HTTP2 = {"enabled": True, "max_concurrent_streams": 100, "initial_window": "256KiB"}
CONNECTION_SPECIFIC = {"connection", "keep-alive", "proxy-connection", "upgrade", "transfer-encoding"}


def echo_body(ex, req):
    """Answers with the request body, byte for byte."""
    return ex.respond(200, req.body, [("Content-Type", "application/octet-stream")]) and not req.wants_close()


def big_body(size):
    """A GET answered with `size` bytes of a known pattern."""
    pattern = bytes(range(256)) * 4096  # 1 MiB
    body = (pattern * (size // len(pattern) + 1))[:size]

    def handler(ex, req):
        return ex.respond(200, body, [("Content-Type", "application/octet-stream")]) and not req.wants_close()
    return handler, body


def headers_of(doc):
    return [(k.lower(), v) for k, v in doc["headers"]]


class H2Case(LbdTestCase):
    """Certificates as in test_tls.py; helpers for h2 listeners."""

    def setUp(self):
        super().setUp()
        self.site = make_cert(self.tmp.name, "site", "example.com", ["example.com", "www.example.com"])
        self.cafile = self.site[0]

    def h2_config(self, backends, tls=False, http2=None, pools=None, **listener):
        cfg = config(pools or [pool("app", backends)])
        lst = cfg["listeners"][0]
        lst["http2"] = dict(HTTP2, **(http2 or {}))
        if tls:
            lst["tls"] = {"certificates": [{"cert": self.site[0], "key": self.site[1]}]}
        lst.update(listener)
        return cfg

    def context(self):
        return ssl.create_default_context(cafile=self.cafile)

    def h2(self, tls=False, **kw):
        c = hc.H2Client(self.lbd.port, self.context() if tls else None, **kw)
        self.addCleanup(c.close)
        return c

    def raw(self, tls=False, **kw):
        c = hc.RawH2(self.lbd.port, self.context() if tls else None, **kw)
        self.addCleanup(c.close)
        return c

    def curl(self, *args, timeout=20):
        out = subprocess.run(["curl", "-sS", "-v", "--max-time", "10", *args],
                             capture_output=True, text=True, timeout=timeout)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out

    def metric(self, name, **labels):
        return scrape(self.lbd.admin_port).sum(name, **labels)


class ForwardingTest(H2Case):
    def assertForwardedLikeHttp11(self, doc, host, proto):
        hdrs = headers_of(doc)
        names = [k for k, _ in hdrs]
        self.assertEqual([v for k, v in hdrs if k == "host"], [host], hdrs)
        self.assertEqual([v for k, v in hdrs if k == "x-forwarded-for"], ["127.0.0.1"], hdrs)
        self.assertEqual([v for k, v in hdrs if k == "x-forwarded-proto"], [proto], hdrs)
        self.assertEqual([v for k, v in hdrs if k == "x-real-ip"], ["127.0.0.1"], hdrs)
        self.assertFalse([n for n in names if n.startswith(":")], f"pseudo-headers reached the backend: {hdrs}")
        self.assertFalse(CONNECTION_SPECIFIC & set(names) - ({"transfer-encoding"} if doc["body_length"] else set()),
                         f"connection-specific fields reached the backend: {hdrs}")
        self.assertEqual(doc["version"], "HTTP/1.1")

    def test_curl_http2_over_tls(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend], tls=True))
        port = self.lbd.port
        out = self.curl("--http2", "--cacert", self.cafile, "--resolve", f"www.example.com:{port}:127.0.0.1",
                        "-H", "Cookie: a=1", "-H", "Cookie: b=2", f"https://www.example.com:{port}/tls?x=1")
        self.assertRegex(out.stderr, r"ALPN[:,] server accepted (to use )?h2")
        self.assertRegex(out.stderr, r"< HTTP/2 200")
        doc = json.loads(out.stdout)
        self.assertEqual((doc["method"], doc["target"]), ("GET", "/tls?x=1"))
        self.assertForwardedLikeHttp11(doc, f"www.example.com:{port}", "https")
        self.assertEqual([v for k, v in headers_of(doc) if k == "cookie"], ["a=1; b=2"])

    def test_curl_http2_prior_knowledge_over_clear_text(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend]))
        port = self.lbd.port
        out = self.curl("--http2-prior-knowledge", "-H", "X-Custom: kept", f"http://127.0.0.1:{port}/clear")
        self.assertRegex(out.stderr, r"< HTTP/2 200")
        doc = json.loads(out.stdout)
        self.assertEqual(doc["target"], "/clear")
        self.assertForwardedLikeHttp11(doc, f"127.0.0.1:{port}", "http")
        self.assertIn(("x-custom", "kept"), headers_of(doc))
        self.assertEqual(backend.request_count, 1)

    def test_split_cookies_join_and_only_real_fields_reach_the_backend(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend]))
        c = self.h2()
        s = c.get("/fields", [("cookie", "a=1"), ("user-agent", "h2client"), ("cookie", "b=2"),
                              ("te", "trailers"), ("cookie", "c=3")], authority="api.example.com")
        self.assertEqual(s.status, 200, s)
        doc = json.loads(s.body)
        self.assertForwardedLikeHttp11(doc, "api.example.com", "http")
        self.assertEqual([v for k, v in headers_of(doc) if k == "cookie"], ["a=1; b=2; c=3"])
        self.assertIn(("user-agent", "h2client"), headers_of(doc))
        # The response comes back as HTTP/2 fields: lower-case, no hop-by-hop ones.
        names = [k for k, _ in s.headers]
        self.assertEqual(names, [n.lower() for n in names])
        self.assertFalse(CONNECTION_SPECIFIC & set(names), s.headers)
        self.assertEqual(s.header("x-backend"), backend.name)

    def test_client_forwarding_fields_are_treated_as_over_http11(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend]))
        doc = json.loads(self.h2().get("/xff", [("x-forwarded-for", "203.0.113.7"), ("x-real-ip", "6.6.6.6"),
                                                ("x-forwarded-proto", "https")]).body)
        hdrs = headers_of(doc)
        self.assertEqual([v for k, v in hdrs if k == "x-forwarded-for"], ["203.0.113.7, 127.0.0.1"])
        self.assertEqual([v for k, v in hdrs if k == "x-real-ip"], ["127.0.0.1"])
        self.assertEqual([v for k, v in hdrs if k == "x-forwarded-proto"], ["http"])

    def test_connection_specific_request_fields_reset_the_stream(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend]))
        r = self.raw()
        bad = [("connection", "keep-alive"), ("keep-alive", "timeout=5"), ("upgrade", "websocket"),
               ("transfer-encoding", "chunked"), ("te", "gzip")]
        ids = []
        for name, value in bad:
            sid = r.new_stream_id()
            ids.append(sid)
            r.send(hc.headers_frame(sid, r.request_block("/bad", extra=[(name, value)])))
        good = r.new_stream_id()
        r.send(hc.settings_frame(ack=True) + hc.headers_frame(good, r.request_block("/good")))
        r.read_until(lambda f: f.stream_id == good and "END_STREAM" in f.flags, 5)
        self.assertEqual(r.rst_streams(), {sid: hc.PROTOCOL_ERROR for sid in ids})
        self.assertEqual(r.goaway, None, hc.goaway_text(r.goaway))
        self.assertEqual(r.response_headers(good)[0], (":status", "200"))
        self.assertEqual([req.target for req in backend.requests], ["/good"])


class ConcurrencyTest(H2Case):
    def test_nghttp_fifty_concurrent_streams_on_one_connection(self):
        backend = self.backend(fb.delayed(0.5))
        self.start_lbd(self.h2_config([backend]))
        start = time.monotonic()
        out = subprocess.run(["nghttp", "-nv", "-m", "50", "-t", "10", f"http://127.0.0.1:{self.lbd.port}/many"],
                             capture_output=True, text=True, timeout=30)
        took = time.monotonic() - start
        self.assertEqual(out.returncode, 0, out.stdout[-2000:] + out.stderr)
        self.assertEqual(out.stdout.count(":status: 200"), 50, out.stdout[-2000:])
        # One connection: nghttp's 50 requests share it, each its own stream.
        self.assertEqual(len(set(re.findall(r"send HEADERS frame <length=\d+, flags=0x\w+, stream_id=(\d+)>",
                                            out.stdout))), 50)
        self.assertEqual(backend.request_count, 50)
        # In turn they would take 25 s; side by side about one backend delay.
        self.assertLess(took, 8, "the streams were served one after another")
        self.assertTrue(wait_until(lambda: self.metric("lbd_http2_streams_total", listener="web") == 50, 3),
                        scrape(self.lbd.admin_port).series("lbd_http2_streams_total"))

    def test_h2load_every_request_succeeds(self):
        backends = [DemoBackend(f"d{i}") for i in range(2)]
        for b in backends:
            self.addCleanup(b.stop)
        self.start_lbd(self.h2_config(backends, tls=True))
        out = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "20", "-T", "10",
                              f"https://127.0.0.1:{self.lbd.port}/"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("Application protocol: h2", out.stdout)
        self.assertRegex(out.stdout, r"requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored")
        self.assertRegex(out.stdout, r"status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx")
        self.assertEqual(self.metric("lbd_http2_goaway_total", listener="web"), 0)


class BodiesTest(H2Case):
    def test_megabyte_bodies_both_ways_byte_exact(self):
        backend = self.backend(echo_body)
        self.start_lbd(self.h2_config([backend], tls=True))
        c = self.h2(tls=True)
        bodies = [os.urandom(3 << 20), os.urandom((2 << 20) + 12345)]
        ids = []
        for i, body in enumerate(bodies):  # two at once on one connection
            ids.append(c.request("POST", f"/upload/{i}", [("content-type", "application/octet-stream")],
                                 body=body, authority="www.example.com", end_stream=False))
        for sid, body in zip(ids, bodies):
            c.conn.end_stream(sid)
            c.flush()
        for sid, body in zip(ids, bodies):
            s = c.response(sid, timeout=20)
            self.assertEqual(s.status, 200, s)
            self.assertEqual(len(s.body), len(body))
            self.assertEqual(hashlib.sha256(s.body).hexdigest(), hashlib.sha256(body).hexdigest())
        got = sorted(backend.requests, key=lambda r: r.target)
        self.assertEqual([len(r.body) for r in got], [len(b) for b in bodies])
        self.assertEqual([r.body for r in got], bodies)

    def test_tiny_client_window_gets_a_large_response_whole(self):
        handler, body = big_body(1 << 20)
        self.start_lbd(self.h2_config([self.backend(handler)]))
        c = self.h2(settings={hc.SETTINGS_INITIAL_WINDOW_SIZE: 1024}, auto_window=False)
        s = c.streams[c.request("GET", "/big")]
        c.settle(1.0)
        # The window is the limit: lbd sent no more than 1024 bytes unasked.
        self.assertLessEqual(len(s.body), 1024)
        self.assertFalse(s.done, s)
        deadline = time.monotonic() + 20
        while not s.done:
            self.assertLess(time.monotonic(), deadline, f"stuck at {len(s.body)} bytes")
            c.read_window(s.id)
            c.wait(lambda: c.unacked.get(s.id, 0) or s.done, 5, "more DATA after a WINDOW_UPDATE")
        self.assertTrue(s.ended, s)
        self.assertEqual(s.status, 200)
        self.assertEqual(s.body, body)

    def test_a_shut_stream_does_not_stall_another(self):
        handler, body = big_body(4 << 20)
        backend = self.backend(fb.when(lambda r: r.target == "/big", handler))
        self.start_lbd(self.h2_config([backend]))
        c = self.h2(settings={hc.SETTINGS_INITIAL_WINDOW_SIZE: 16384}, auto_window=False)
        big = c.streams[c.request("GET", "/big")]
        c.wait(lambda: len(big.body) >= 16384, 5, "the first 16 KiB of the big response")
        for i in range(5):  # the big stream's window stays shut meanwhile
            small = c.get(f"/small/{i}", timeout=3)
            self.assertEqual(small.status, 200, small)
            self.assertEqual(json.loads(small.body)["target"], f"/small/{i}")
            c.read_window(small.id)
        self.assertEqual(len(big.body), 16384)
        deadline = time.monotonic() + 20
        while not big.done:  # the big one still arrives whole once read
            self.assertLess(time.monotonic(), deadline, f"stuck at {len(big.body)} bytes")
            c.read_window(big.id)
            c.wait(lambda: c.unacked.get(big.id, 0) or big.done, 5, "more DATA")
        self.assertEqual(big.body, body)


class SseTest(H2Case):
    def test_each_event_leaves_when_the_backend_sends_it(self):
        events, interval = 4, 0.6
        backend = self.backend(fb.events(events, interval))
        self.start_lbd(self.h2_config([backend], tls=True))
        c = self.h2(tls=True)
        s = c.streams[c.request("GET", "/events", [("accept", "text/event-stream")], authority="www.example.com")]
        c.wait(lambda: s.done, 10, "the end of the event stream")
        self.assertEqual(s.status, 200)
        self.assertEqual(s.header("content-type"), "text/event-stream")
        self.assertEqual(s.body, b"".join(b"id: %d\ndata: event %d\n\n" % (i, i) for i in range(events)))
        arrived, seen = [], b""
        for t, data in s.chunks:
            seen += data
            while len(arrived) < seen.count(b"\n\n"):
                arrived.append(t)
        for i in range(events - 1):
            self.assertLess(arrived[i], backend.sent_at[i + 1],
                            f"event {i} arrived only after event {i + 1} was sent")


class SettingsTest(H2Case):
    def test_settings_follow_the_config_and_offer_no_extended_connect(self):
        self.start_lbd(self.h2_config([self.backend()], tls=True,
                                      http2={"max_concurrent_streams": 37, "initial_window": "128KiB"}))
        settings = self.raw(tls=True).server_settings(5)
        self.assertIsNotNone(settings, "no SETTINGS from lbd")
        self.assertNotEqual(settings.get(hc.SETTINGS_ENABLE_CONNECT_PROTOCOL), 1,
                            f"extended CONNECT offered: {settings}")
        self.assertEqual(settings.get(hc.SETTINGS_MAX_CONCURRENT_STREAMS), 37, settings)
        self.assertEqual(settings.get(hc.SETTINGS_INITIAL_WINDOW_SIZE), 128 * 1024, settings)

    def test_clear_text_listener_also_offers_no_extended_connect(self):
        self.start_lbd(self.h2_config([self.backend()]))
        settings = self.raw().server_settings(5)
        self.assertIsNotNone(settings, "no SETTINGS from lbd")
        self.assertNotEqual(settings.get(hc.SETTINGS_ENABLE_CONNECT_PROTOCOL), 1, settings)
        self.assertEqual(settings.get(hc.SETTINGS_MAX_CONCURRENT_STREAMS), 100, settings)


class DribblingSocket:
    """A socket whose first `count` bytes leave one per send, 10 ms apart:
    a client whose preface reaches lbd in many reads."""

    def __init__(self, sock, count):
        self.sock = sock
        self.left = count

    def sendall(self, data):
        while self.left and data:
            self.sock.sendall(data[:1])
            data = data[1:]
            self.left -= 1
            time.sleep(0.01)
        if data:
            self.sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self.sock, name)


class PrefaceTest(H2Case):
    """On clear text only the whole preface means HTTP/2: "PRI " also
    starts an HTTP/1.1 request line."""

    def test_a_preface_read_one_byte_at_a_time_is_still_http2(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend]))
        sock = DribblingSocket(hc.connect(self.lbd.port), len(hc.PREFACE))
        c = self.h2(sock=sock)
        stream = c.get("/dribbled")
        self.assertEqual(stream.status, 200, stream)
        self.assertEqual(json.loads(stream.body)["target"], "/dribbled")
        self.assertEqual(backend.request_count, 1)

    def test_request_lines_that_start_like_the_preface_get_an_http11_answer(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend]))
        for wire in (b"PRI * HTTP/1.1\r\nHost: a\r\n\r\n",
                     b"PRI /x HTTP/1.1\r\nHost: a\r\n\r\n",
                     b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"):
            with self.subTest(wire=wire):
                c = HttpClient(self.lbd.port, timeout=5)
                self.addCleanup(c.close)
                c.send(wire)
                self.assertEqual(c.read_response().status, 400)
                self.assertTrue(c.closed_within(3), "connection kept open after the 400")
        self.assertEqual(backend.heads, 0)

    def test_a_preface_that_stalls_is_closed_at_the_header_timeout(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend], timeouts={"header": "1s"}))
        c = HttpClient(self.lbd.port, timeout=5)
        self.addCleanup(c.close)
        c.send(hc.PREFACE[:16])  # "PRI * HTTP/2.0\r\n", then nothing
        self.assertFalse(c.closed_within(0.5), "closed before the header timeout")
        self.assertTrue(c.closed_within(3), "a stalled preface held past timeouts.header")
        self.assertEqual(backend.heads, 0)

    def test_a_preface_cut_short_by_the_client_closes_at_once(self):
        self.start_lbd(self.h2_config([self.backend()]))
        c = HttpClient(self.lbd.port, timeout=5)
        self.addCleanup(c.close)
        c.send(hc.PREFACE[:20])
        c.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(c.closed_within(3), "connection held after the client's end of input")


class DisabledTest(H2Case):
    def test_tls_listener_offers_only_http11(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend], tls=True, http2={"enabled": False}))
        sock = hc.connect(self.lbd.port, self.context(), "www.example.com", alpn=("h2", "http/1.1"))
        self.addCleanup(sock.close)
        self.assertEqual(hc.selected_alpn(sock), "http/1.1")
        with self.assertRaises(ssl.SSLError):  # h2 alone: no protocol in common
            hc.connect(self.lbd.port, self.context(), "www.example.com", alpn=("h2",)).close()
        port = self.lbd.port
        out = self.curl("--http2", "--cacert", self.cafile, "--resolve", f"www.example.com:{port}:127.0.0.1",
                        f"https://www.example.com:{port}/fallback")
        self.assertRegex(out.stderr, r"< HTTP/1\.1 200")
        self.assertEqual(backend.request_count, 1)

    def test_clear_text_listener_treats_the_preface_as_a_bad_request(self):
        backend = self.backend()
        self.start_lbd(self.h2_config([backend], http2={"enabled": False}))
        c = HttpClient(self.lbd.port, timeout=5)
        self.addCleanup(c.close)
        c.send(hc.PREFACE + hc.settings_frame({}))
        data = b""
        try:
            while True:
                piece = c.sock.recv(65536)
                if not piece:
                    break
                data += piece
        except (socket.timeout, ConnectionResetError):
            pass
        if data:
            self.assertRegex(data[:12], rb"^HTTP/1\.[01] 4\d\d", data[:200])
        self.assertTrue(c.closed_within(3), "connection kept open after the preface")
        self.assertEqual(backend.heads, 0)
        self.assertEqual(self.client().request("GET", "/h1").status, 200)


class StopTest(H2Case):
    def test_sigterm_sends_goaway_and_streams_in_flight_finish(self):
        slow_body = b"s" * 200_000
        backend = self.backend(fb.when(lambda r: r.target == "/slow",
                                       lambda ex, req: time.sleep(1.5) or ex.respond(200, slow_body)))
        cfg = self.h2_config([backend], tls=True)
        cfg["shutdown_timeout"] = "8s"
        lbd = self.start_lbd(cfg)
        c = self.h2(tls=True)
        self.assertEqual(c.get("/first", authority="www.example.com").status, 200)
        slow = c.request("GET", "/slow", authority="www.example.com")
        self.assertTrue(wait_until(lambda: backend.heads == 2, 3), "the slow request did not reach the backend")
        lbd.signal(signal.SIGTERM)
        goaway = c.wait_goaway(3)
        self.assertIsNotNone(goaway, "no GOAWAY after SIGTERM")
        self.assertEqual(goaway.error_code, hc.NO_ERROR)
        self.assertGreaterEqual(goaway.last_stream_id, slow)
        s = c.response(slow, timeout=6)
        self.assertTrue(s.ended, s)
        self.assertEqual(s.status, 200)
        self.assertEqual(s.body, slow_body)
        self.assertTrue(c.closed_within(3), "connection kept open once its streams were done")
        self.assertEqual(lbd.wait(), 0)

    def test_stream_in_flight_across_a_reload_arrives_whole(self):
        backend = self.backend(fb.when(lambda r: r.target == "/slow", fb.delayed(1.5)))
        lbd = self.start_lbd(self.h2_config([backend]))
        c = self.h2()
        slow = c.request("GET", "/slow")
        self.assertTrue(wait_until(lambda: backend.heads == 1, 3))
        reload_config(lbd)
        s = c.response(slow, timeout=6)
        self.assertEqual(s.status, 200, s)
        self.assertEqual(json.loads(s.body)["target"], "/slow")
        if c.goaway is not None:  # a graceful GOAWAY is fine; a new connection must then work
            self.assertEqual(c.goaway.error_code, hc.NO_ERROR)
            self.assertGreaterEqual(c.goaway.last_stream_id, slow)
            c = self.h2()
        self.assertEqual(c.get("/after").status, 200)


class ObservabilityTest(H2Case):
    def test_access_log_names_the_protocol(self):
        lbd = self.start_lbd(self.h2_config([self.backend()]))
        self.assertEqual(self.h2().get("/via-h2").status, 200)
        self.assertEqual(self.client().request("GET", "/via-h11").status, 200)
        self.assertEqual(self.client().request("GET", "/via-h10", version="HTTP/1.0").status, 200)
        self.assertTrue(wait_until(lambda: len(lbd.access_log()) == 3, 3), lbd.stdout())
        by_path = {e["path"]: e for e in lbd.access_log()}
        self.assertEqual(by_path["/via-h2"].get("protocol"), "HTTP/2.0", by_path["/via-h2"])
        self.assertEqual(by_path["/via-h11"].get("protocol"), "HTTP/1.1", by_path["/via-h11"])
        self.assertEqual(by_path["/via-h10"].get("protocol"), "HTTP/1.0", by_path["/via-h10"])
        self.assertEqual(by_path["/via-h2"]["status"], 200)

    def test_a_client_saying_goodbye_is_no_goaway_of_ours(self):
        """nghttp, h2load and browsers end with their own GOAWAY(NO_ERROR):
        lbd_http2_goaway_total counts the GOAWAYs lbd sends, by reason, so
        a polite client leaves it untouched (else every benchmark would
        read as protocol errors)."""
        self.start_lbd(self.h2_config([self.backend()]))
        c = self.h2()
        self.assertEqual(c.get("/bye").status, 200)
        c.conn.close_connection()  # GOAWAY NO_ERROR, last stream 0
        c.flush()
        c.settle(0.3)  # lbd's answer to it, if any, is read
        c.close()
        time.sleep(0.2)
        m = scrape(self.lbd.admin_port)
        self.assertEqual(m.sum("lbd_http2_goaway_total", listener="web"), 0, m.series("lbd_http2_goaway_total"))

    def test_stream_metrics(self):
        backend = self.backend(fb.when(lambda r: r.target == "/slow", fb.delayed(1.5)))
        self.start_lbd(self.h2_config([backend]))
        c = self.h2()
        for i in range(5):
            self.assertEqual(c.get(f"/{i}").status, 200)
        self.assertTrue(wait_until(lambda: self.metric("lbd_http2_streams_total", listener="web") == 5, 3),
                        scrape(self.lbd.admin_port).series("lbd_http2_streams_total"))
        slow = c.request("GET", "/slow")
        self.assertTrue(wait_until(lambda: self.metric("lbd_http2_streams_active", listener="web") == 1, 3),
                        scrape(self.lbd.admin_port).series("lbd_http2_streams_active"))
        self.assertEqual(c.response(slow).status, 200)
        self.assertTrue(wait_until(lambda: self.metric("lbd_http2_streams_active", listener="web") == 0, 3))
        self.assertEqual(self.metric("lbd_http2_streams_total", listener="web"), 6)
        # HTTP/1.1 requests are not streams.
        self.assertEqual(self.client().request("GET", "/h1").status, 200)
        self.assertEqual(self.metric("lbd_http2_streams_total", listener="web"), 6)
        m = scrape(self.lbd.admin_port)
        self.assertEqual(m.types.get("lbd_http2_streams_total"), "counter")
        self.assertEqual(m.types.get("lbd_http2_streams_active"), "gauge")


if __name__ == "__main__":
    unittest.main()
