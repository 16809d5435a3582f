"""Request and response bodies in every framing arrive intact, and the
bodiless cases (HEAD, 204, 304, 100-continue) are framed per RFC 9112."""
import hashlib
import os
import unittest

from httpwire import build_request
from lbd_harness import LbdTestCase, echoed, header_values, memory_test_env
import fake_backend as fb

MiB = 1024 * 1024


class RequestBodyTest(LbdTestCase):
    def test_content_length_body_intact(self):
        self.proxy([self.backend()])
        body = os.urandom(300 * 1024)
        doc = echoed(self.client().request("PUT", "/blob", body=body))
        self.assertEqual((doc["body_length"], doc["body_sha256"]),
                         (len(body), hashlib.sha256(body).hexdigest()))

    def test_chunked_body_intact(self):
        self.proxy([self.backend()])
        pieces = [os.urandom(n) for n in (1, 10, 4096, 65536, 100000, 7)]
        body = b"".join(pieces)
        framed = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        doc = echoed(self.client().request("POST", "/up", [("Transfer-Encoding", "chunked")], framed))
        self.assertEqual((doc["body_length"], doc["body_sha256"]),
                         (len(body), hashlib.sha256(body).hexdigest()))
        self.assertFalse(header_values(doc, "Content-Length") and header_values(doc, "Transfer-Encoding"),
                         "backend got both Content-Length and Transfer-Encoding")

    def test_50_mib_upload_is_streamed_not_buffered(self):
        lbd = self.proxy([self.backend()], extra_env=memory_test_env())
        hwm_before = lbd.proc_status_kib("VmHWM")
        block = os.urandom(MiB)
        client = self.client(timeout=60)
        client.send(build_request("POST", "/big", [("Content-Length", str(50 * MiB))]))
        for _ in range(50):
            client.send(block)
        doc = echoed(client.read_response())
        self.assertEqual(doc["body_length"], 50 * MiB)
        self.assertEqual(doc["body_sha256"], hashlib.sha256(block * 50).hexdigest())
        growth_mib = (lbd.proc_status_kib("VmHWM") - hwm_before) / 1024
        self.assertLess(growth_mib, 16, "lbd's peak RSS grew as if it buffered the upload")

    def test_expect_100_continue(self):
        self.proxy([self.backend()])
        client = self.client()
        client.send(build_request("POST", "/c", [("Expect", "100-continue"), ("Content-Length", "5")]))
        interim = client.read_response(interim=True)
        self.assertEqual(interim.status, 100)
        client.send(b"hello")
        self.assertEqual(echoed(client.read_response())["body"], "hello")


class ResponseBodyTest(LbdTestCase):
    def check_framing(self, framing):
        pieces = [os.urandom(n) for n in (1, 65536, 1000000, 3)]
        self.proxy([self.backend(fb.respond(200, pieces, framing=framing))])
        client = self.client()
        resp = client.request()
        self.assertEqual(resp.status, 200)
        self.assertEqual(hashlib.sha256(resp.body).hexdigest(),
                         hashlib.sha256(b"".join(pieces)).hexdigest())
        return client

    def test_content_length_response(self):
        self.assertEqual(self.check_framing("length").request().status, 200)

    def test_chunked_response(self):
        self.assertEqual(self.check_framing("chunked").request().status, 200)

    def test_close_delimited_response(self):
        self.check_framing("close")

    def test_chunked_response_to_http10_client_is_not_chunked(self):
        self.proxy([self.backend(fb.respond(200, [b"abc", b"def"], framing="chunked"))])
        client = self.client()
        client.send(build_request("GET", "/", version="HTTP/1.0", host=None))
        resp = client.read_response()
        self.assertEqual(resp.header_values("Transfer-Encoding"), [])
        self.assertEqual(resp.body, b"abcdef")

    def test_head_response_has_no_body(self):
        head = fb.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n")
        self.proxy([self.backend(fb.when(lambda req: req.method == "HEAD", head))])
        client = self.client()
        resp = client.request("HEAD", "/h")
        self.assertEqual((resp.status, resp.header("Content-Length")), (200, "12345"))
        self.assertEqual(echoed(client.request("GET", "/after"))["target"], "/after")

    def check_no_body_status(self, status):
        empty = fb.raw(b'HTTP/1.1 %d X\r\nETag: "v1"\r\n\r\n' % status)
        self.proxy([self.backend(fb.when(lambda req: req.target == "/empty", empty))])
        client = self.client()
        resp = client.request("GET", "/empty")
        self.assertEqual((resp.status, resp.header("ETag"), resp.body), (status, '"v1"', b""))
        self.assertEqual(echoed(client.request("GET", "/next"))["target"], "/next")

    def test_204_has_no_body(self):
        self.check_no_body_status(204)

    def test_304_has_no_body(self):
        self.check_no_body_status(304)


if __name__ == "__main__":
    unittest.main()
