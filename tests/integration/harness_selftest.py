"""Checks the fake backends and the raw HTTP client against each other,
without lbd, so a failing integration test points at lbd and not at the
harness. Not a ctest test (the name does not start with test_); run it with
`python3 -m unittest -v harness_selftest` from tests/integration."""
import socket
import time
import unittest

import fake_backend as fb
from httpwire import build_request, chunked
from lbd_harness import LbdTestCase, echoed, to_yaml


class FakeBackendSelfTest(LbdTestCase):
    def test_echo_counts_and_keepalive(self):
        b = self.backend()
        c = self.client(b.port)
        for i in range(3):
            doc = echoed(c.request("POST", f"/x{i}", body=b"hello"))
            self.assertEqual((doc["target"], doc["body"]), (f"/x{i}", "hello"))
        self.assertEqual((b.connections, b.heads, b.request_count), (1, 3, 3))

    def test_chunked_request_and_pipelining(self):
        b = self.backend()
        c = self.client(b.port)
        c.send(build_request("POST", "/a", [("Transfer-Encoding", "chunked")],
                             chunked(b"ab", b"cde")) + build_request("GET", "/b"))
        self.assertEqual(echoed(c.read_response())["body"], "abcde")
        self.assertEqual(echoed(c.read_response())["target"], "/b")

    def test_response_framings(self):
        for framing in ("length", "chunked", "close"):
            b = self.backend(fb.respond(200, [b"one", b"two"], framing=framing))
            self.assertEqual(self.client(b.port).request().body, b"onetwo")

    def test_reset_idle_close_and_continue(self):
        b = self.backend(fb.reset_after_request)
        c = self.client(b.port)
        c.send(build_request())
        with self.assertRaises(ConnectionResetError):
            c.sock.recv(10)
        idle = self.backend(idle_close=0.2)
        c = self.client(idle.port)
        c.request()
        self.assertTrue(c.closed_within(2))
        c = self.client(idle.port)
        c.send(build_request("POST", headers=[("Expect", "100-continue"),
                                              ("Content-Length", "2")]))
        self.assertEqual(c.read_response(interim=True).status, 100)
        c.send(b"ok")
        self.assertEqual(echoed(c.read_response())["body"], "ok")

    def test_events_are_sent_apart(self):
        b = self.backend(fb.events(2, 0.3))
        seen = []
        c = self.client(b.port)
        c.send(build_request())
        c.read_response(on_data=lambda d: seen.append(time.monotonic()))
        self.assertGreaterEqual(b.sent_at[1] - b.sent_at[0], 0.3)
        self.assertLess(seen[0], b.sent_at[1])

    def test_closed_port_refuses(self):
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", fb.closed_port()), timeout=1)

    def test_yaml_lists_of_maps(self):
        self.assertEqual(to_yaml({"a": [{"b": 1, "c": "x"}]}), 'a:\n  - b: 1\n    c: "x"')


if __name__ == "__main__":
    unittest.main()
