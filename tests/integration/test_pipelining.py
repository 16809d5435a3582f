"""Pipelined requests are answered in order (issue 2 §3)."""
import unittest

from httpwire import build_request
from lbd_harness import LbdTestCase, echoed
import fake_backend as fb


def slow_path_then_echo(ex, req):
    """/slow answers after 700 ms, everything else at once."""
    return fb.delayed(0.7 if req.target == "/slow" else 0)(ex, req)


class PipeliningTest(LbdTestCase):
    def send_pipelined(self, client, *requests):
        client.send(b"".join(requests))
        return [echoed(client.read_response())["target"] for _ in requests]

    def test_three_requests_in_one_write(self):
        self.proxy(self.backends(3))
        client = self.client()
        targets = self.send_pipelined(client, *(build_request("GET", f"/{i}") for i in (1, 2, 3)))
        self.assertEqual(targets, ["/1", "/2", "/3"])

    def test_slow_first_request_keeps_order(self):
        self.proxy(self.backends(3, slow_path_then_echo))
        client = self.client()
        targets = self.send_pipelined(client, build_request("GET", "/slow"),
                                      build_request("GET", "/2"), build_request("GET", "/3"))
        self.assertEqual(targets, ["/slow", "/2", "/3"])

    def test_pipelined_requests_with_bodies(self):
        self.proxy([self.backend()])
        client = self.client()
        client.send(build_request("POST", "/a", body=b"first")
                    + build_request("POST", "/b", [("Transfer-Encoding", "chunked")],
                                    b"6\r\nsecond\r\n0\r\n\r\n")
                    + build_request("GET", "/c"))
        docs = [echoed(client.read_response()) for _ in range(3)]
        self.assertEqual([(d["target"], d["body"]) for d in docs],
                         [("/a", "first"), ("/b", "second"), ("/c", "")])

    def test_nothing_after_connection_close_is_forwarded(self):
        backend = self.backend()
        self.proxy([backend])
        client = self.client()
        client.send(build_request("GET", "/1")
                    + build_request("GET", "/2", [("Connection", "close")])
                    + build_request("GET", "/3"))
        self.assertEqual(echoed(client.read_response())["target"], "/1")
        self.assertEqual(echoed(client.read_response())["target"], "/2")
        self.assertClosedPromptly(client)
        self.assertEqual([r.target for r in backend.requests], ["/1", "/2"])


if __name__ == "__main__":
    unittest.main()
