"""lbd's own error responses (issue 2 §5): each status with a short body,
and malformed requests refused with 400 and a closed connection before any
byte of them reaches a backend (nothing can be smuggled)."""
import time
import unittest

from httpwire import ConnectionClosed, build_request
from lbd_harness import LbdTestCase, config, pool
import fake_backend as fb

H = "GET / HTTP/1.1\r\nHost: a\r\n"

# Each of these must be refused with 400; none is a request a backend may see.
MALFORMED = {
    "content-length with transfer-encoding":
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    "two content-lengths":
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "invalid content-length": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello",
    "negative content-length": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    "bad chunk size":
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "chunk without crlf":
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    "chunked not final": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "obs-fold": H + "X-Folded: one\r\n  two\r\n\r\n",
    "bare lf line ends": "GET / HTTP/1.1\nHost: a\n\n",
    "bare lf in a header": H + "X-A: 1\nX-B: 2\r\n\r\n",
    "bare cr in a header": H + "X-A: 1\rX-B: 2\r\n\r\n",
    "nul in a header value": H + "X-A: a\x00b\r\n\r\n",
    "empty header name": H + ": value\r\n\r\n",
    "space before colon": H + "X-A : 1\r\n\r\n",
    "http/1.1 without host": "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n",
    "two host headers": H + "Host: b\r\n\r\n",
    "transfer-encoding in http/1.0":
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "garbage request line": "GET\r\n\r\n",
    "space in target": "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
}


class ErrorTestCase(LbdTestCase):
    def assertErrorResponse(self, resp, status):
        self.assertEqual(resp.status, status, resp)
        self.assertTrue(0 < len(resp.body) < 1024, f"expected a short text body: {resp!r}")


class MalformedRequestTest(ErrorTestCase):
    def test_malformed_requests_get_400_and_never_reach_the_backend(self):
        backend = self.backend()
        self.proxy([backend])
        for name, raw in MALFORMED.items():
            with self.subTest(name):
                client = self.client()
                client.send(raw.encode("latin-1"))
                self.assertErrorResponse(client.read_response(), 400)
                self.assertClosedPromptly(client)
        self.assertEqual([r.target for r in backend.requests], [])

    def test_valid_request_before_a_malformed_one_is_answered(self):
        backend = self.backend()
        self.proxy([backend])
        client = self.client()
        client.send(build_request("GET", "/fine") + MALFORMED["two host headers"].encode())
        self.assertEqual(client.read_response().status, 200)
        self.assertErrorResponse(client.read_response(), 400)
        self.assertClosedPromptly(client)
        self.assertEqual([r.target for r in backend.requests], ["/fine"])


class TimeoutAndLimitStatusTest(ErrorTestCase):
    def start_with_listener(self, backend, **listener_changes):
        cfg = config([pool("app", [backend])])
        for section, values in listener_changes.items():
            cfg["listeners"][0][section].update(values)
        return self.start_lbd(cfg)

    def test_408_when_the_head_is_incomplete(self):
        self.start_with_listener(self.backend(), timeouts={"header": "1s"})
        client = self.client()
        started = time.monotonic()
        client.send(H)  # never the blank line
        self.assertErrorResponse(client.read_response(), 408)
        self.assertLess(time.monotonic() - started, 4)
        self.assertClosedPromptly(client)

    def test_408_for_slowloris_dripping_bytes(self):
        backend = self.backend()
        self.start_with_listener(backend, timeouts={"header": "1s"})
        client = self.client()
        started = time.monotonic()
        try:
            for i in range(40):  # one header line every 200 ms: never done in 1 s
                client.send(f"X-Drip-{i}: {i}\r\n" if i else H)
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertErrorResponse(client.read_response(), 408)
        self.assertLess(time.monotonic() - started, 5, "the header timeout restarted on each byte")
        self.assertEqual(backend.heads, 0)

    def test_413_body_over_limit_with_content_length(self):
        backend = self.backend()
        self.start_with_listener(backend, limits={"max_body_bytes": "1KiB"})
        client = self.client()
        client.send(build_request("POST", "/", body=b"x" * 2048))
        self.assertErrorResponse(client.read_response(), 413)
        self.assertEqual(backend.heads, 0)

    def test_413_before_100_continue(self):
        backend = self.backend()
        self.start_with_listener(backend, limits={"max_body_bytes": "1KiB"})
        client = self.client()
        client.send(build_request("POST", "/", [("Expect", "100-continue"),
                                                ("Content-Length", "2048")]))
        self.assertErrorResponse(client.read_response(interim=True), 413)
        self.assertEqual(backend.heads, 0)

    def test_413_chunked_body_over_limit(self):
        backend = self.backend()
        self.start_with_listener(backend, limits={"max_body_bytes": "1KiB"})
        client = self.client()
        client.send(build_request("POST", "/", [("Transfer-Encoding", "chunked")],
                                  b"400\r\n" + b"x" * 1024 + b"\r\n400\r\n" + b"y" * 1024
                                  + b"\r\n0\r\n\r\n"))
        self.assertErrorResponse(client.read_response(), 413)
        self.assertEqual(backend.request_count, 0)

    def test_431_head_over_limit(self):
        backend = self.backend()
        self.start_with_listener(backend, limits={"max_header_bytes": "4KiB"})
        client = self.client()
        client.send(build_request("GET", "/", [("X-Big", "b" * 8192)]))
        self.assertErrorResponse(client.read_response(), 431)
        self.assertEqual(backend.heads, 0)


class UpstreamStatusTest(ErrorTestCase):
    def test_502_on_invalid_upstream_response(self):
        self.proxy([self.backend(fb.invalid_response)])
        self.assertErrorResponse(self.client().request(), 502)

    def test_502_when_every_backend_refuses(self):
        self.proxy([f"127.0.0.1:{fb.closed_port()}", f"127.0.0.1:{fb.closed_port()}"])
        self.assertErrorResponse(self.client().request(), 502)

    def test_503_when_no_backend_is_usable(self):
        # With max_fails 1, each refused connect ejects its backend (a
        # one-backend pool is never ejected, hence two, and a cap of 100%);
        # the pool then has no usable backend at all.
        self.proxy([f"127.0.0.1:{fb.closed_port()}", f"127.0.0.1:{fb.closed_port()}"], retries=0,
                   passive={"max_fails": 1, "fail_timeout": "60s", "max_ejected_percent": 100})
        self.client().request()
        self.client().request()
        self.assertErrorResponse(self.client().request(), 503)

    def test_504_past_the_response_timeout(self):
        self.proxy([self.backend(fb.never_answer)],
                   timeouts={"connect": "1s", "response": "1s"})
        started = time.monotonic()
        self.assertErrorResponse(self.client().request(), 504)
        self.assertLess(time.monotonic() - started, 4)

    def test_upstream_dying_mid_body_closes_the_client_connection(self):
        truncated = fb.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part",
                           keep_alive=False)
        self.proxy([self.backend(truncated)])
        client = self.client()
        client.send(build_request())
        # The client must see the connection end (not hang until its timeout).
        with self.assertRaises((ConnectionClosed, ConnectionResetError)):
            client.read_response()


if __name__ == "__main__":
    unittest.main()
