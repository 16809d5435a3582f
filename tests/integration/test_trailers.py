"""Trailer fields pass through lbd both ways (RFC 9110 §6.5): a backend's
trailers (gRPC's grpc-status, the usage figures an AI stream reports at its
end) reach HTTP/1.1 clients after a chunked body and HTTP/2 clients as a
HEADERS frame that ends the stream; a client's request trailers reach the
backend after the re-chunked body. Hop-by-hop fields stay behind, and a
trailer section over the head's limit is refused.

The HTTP/2 client is Debian's python3-h2: run with /usr/bin/python3."""
import socket
import time
import unittest

import h2.config
import h2.connection
import h2.events

from httpwire import ConnectionClosed, build_request
from lbd_harness import LbdTestCase, echoed
import fake_backend as fb

# A chunked response whose trailer section carries a gRPC status, a usage
# figure, and fields that must not cross a hop.
TRAILED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: grpc-status, x-usage\r\n"
           b"Content-Type: text/plain\r\n\r\n"
           b"5\r\nhello\r\n6\r\n world\r\n0\r\n"
           b"grpc-status: 0\r\nX-Usage: tokens=42\r\nKeep-Alive: timeout=1\r\n"
           b"Content-Length: 11\r\nTE: trailers\r\n\r\n")
HOP_BY_HOP = {"keep-alive", "content-length", "te", "connection", "transfer-encoding", "host"}


def lower_pairs(pairs):
    return [(k.lower(), v) for k, v in pairs]


class H2Result:
    def __init__(self):
        self.headers = None
        self.data = b""
        self.data_ended_stream = False  # a DATA frame carried END_STREAM
        self.trailers = None
        self.trailers_ended_stream = False
        self.ended = False
        self.reset = None


def h2_request(port, headers, body=b"", trailers=None, timeout=5.0):
    """One request over h2c (prior knowledge); the response as H2Result."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, headers, end_stream=not body and not trailers)
        if body:
            conn.send_data(sid, body, end_stream=not trailers)
        if trailers:
            conn.send_headers(sid, trailers, end_stream=True)
        sock.sendall(conn.data_to_send())
        res = H2Result()
        deadline = time.monotonic() + timeout
        while not res.ended and res.reset is None and time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    res.headers = ev.headers
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    res.data += ev.data
                    res.data_ended_stream = res.data_ended_stream or ev.stream_ended is not None
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.TrailersReceived) and ev.stream_id == sid:
                    res.trailers = ev.headers
                    res.trailers_ended_stream = ev.stream_ended is not None
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    res.ended = True
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    res.reset = ev.error_code
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
        return res
    finally:
        sock.close()


def h2_head(method="GET", path="/"):
    return [(":method", method), (":scheme", "http"), (":path", path), (":authority", "localhost")]


class ResponseTrailersTest(LbdTestCase):
    def test_grpc_status_reaches_an_http11_chunked_client(self):
        self.proxy([self.backend(fb.raw(TRAILED))])
        client = self.client()
        resp = client.request("GET", "/call")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, b"hello world")
        trailers = lower_pairs(resp.trailers)
        self.assertIn(("grpc-status", "0"), trailers)
        self.assertIn(("x-usage", "tokens=42"), trailers)
        self.assertFalse({k for k, _ in trailers} & HOP_BY_HOP, trailers)
        # The framing is intact: the connection carries the next request.
        again = client.request("GET", "/again")
        self.assertEqual(again.status, 200)
        self.assertIn(("grpc-status", "0"), lower_pairs(again.trailers))

    def test_a_client_without_chunked_framing_gets_the_body_alone(self):
        self.proxy([self.backend(fb.raw(TRAILED))])
        client = self.client()
        client.send(b"GET /old HTTP/1.0\r\nHost: x\r\n\r\n")
        resp = client.read_response()
        self.assertEqual(resp.status, 200)
        self.assertIsNone(resp.header("Transfer-Encoding"))
        self.assertEqual(resp.body, b"hello world")  # close-delimited, no trailer text in it

    def test_grpc_status_reaches_an_http2_client_as_the_final_headers(self):
        lbd = self.proxy([self.backend(fb.raw(TRAILED))])
        res = h2_request(lbd.port, h2_head())
        self.assertIsNone(res.reset)
        self.assertEqual(dict(res.headers)[":status"], "200")
        self.assertEqual(res.data, b"hello world")
        self.assertFalse(res.data_ended_stream, "a DATA frame ended the stream before the trailers")
        self.assertIsNotNone(res.trailers, "no trailing HEADERS frame")
        self.assertTrue(res.trailers_ended_stream, "the trailing HEADERS frame lacks END_STREAM")
        self.assertIn(("grpc-status", "0"), res.trailers)
        self.assertIn(("x-usage", "tokens=42"), res.trailers)
        self.assertFalse({k for k, _ in res.trailers} & HOP_BY_HOP, res.trailers)
        self.assertFalse([k for k, _ in res.trailers if k.startswith(":")], res.trailers)

    def test_oversized_response_trailers_are_refused(self):
        big = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"v" * 100) for i in range(700))  # ~77 KiB > 64 KiB
        body = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" + big + b"\r\n"
        lbd = self.proxy([self.backend(fb.raw(body, keep_alive=False))])
        # HTTP/1.1: the head went out, so the connection is cut before the
        # last chunk: the client never sees a complete body.
        client = self.client(timeout=5)
        client.send(build_request("GET", "/big-trailers"))
        with self.assertRaises((ConnectionClosed, ConnectionResetError)):
            client.read_response()
        # HTTP/2: the stream is reset, never ended cleanly.
        res = h2_request(lbd.port, h2_head())
        self.assertFalse(res.ended)
        self.assertIsNotNone(res.reset)
        self.assertIsNone(res.trailers)


class RequestTrailersTest(LbdTestCase):
    def test_http11_chunked_request_trailer_reaches_the_backend(self):
        backend = self.backend()
        self.proxy([backend])
        framed = (b"5\r\nhello\r\n0\r\nX-Checksum: sha256=abc\r\nHost: evil\r\n"
                  b"Connection: close\r\n\r\n")
        doc = echoed(self.client().request("POST", "/up", [("Transfer-Encoding", "chunked")], framed))
        self.assertEqual(doc["body"], "hello")
        got = lower_pairs(backend.requests[-1].trailers)
        self.assertIn(("x-checksum", "sha256=abc"), got)
        self.assertFalse({k for k, _ in got} & HOP_BY_HOP, got)

    def test_http2_request_trailer_reaches_the_backend(self):
        backend = self.backend()
        lbd = self.proxy([backend])
        res = h2_request(lbd.port, h2_head("POST", "/up"), body=b"hello",
                         trailers=[("x-checksum", "sha256=abc"), ("grpc-timeout", "1S")])
        self.assertTrue(res.ended)
        self.assertEqual(dict(res.headers)[":status"], "200")
        got = lower_pairs(backend.requests[-1].trailers)
        self.assertEqual(backend.requests[-1].body, b"hello")
        self.assertIn(("x-checksum", "sha256=abc"), got)
        self.assertIn(("grpc-timeout", "1S"), got)

    def test_oversized_http11_request_trailers_get_431(self):
        backend = self.backend()
        self.proxy([backend])  # max_header_bytes: 16 KiB
        framed = b"5\r\nhello\r\n0\r\nX-Big: " + b"v" * (20 * 1024) + b"\r\n\r\n"
        resp = self.client().request("POST", "/up", [("Transfer-Encoding", "chunked")], framed)
        self.assertEqual(resp.status, 431)
        self.assertFalse(any(r.trailers for r in backend.requests))

    def test_oversized_http2_request_trailers_reset_the_stream(self):
        backend = self.backend()
        lbd = self.proxy([backend])
        res = h2_request(lbd.port, h2_head("POST", "/up"), body=b"hello",
                         trailers=[("x-big", "v" * (20 * 1024))])
        self.assertFalse(res.ended)
        self.assertIsNotNone(res.reset)
        self.assertFalse(any(r.trailers for r in backend.requests))


if __name__ == "__main__":
    unittest.main()
