"""Requests reach the pool's backends round-robin with the request intact,
hop-by-hop headers removed and the X-Forwarded-* family set (issue 2 §3)."""
import collections
import unittest

from lbd_harness import LbdTestCase, echoed, header_values
import fake_backend as fb


class ForwardingTest(LbdTestCase):
    def test_get_round_robin_over_three_backends(self):
        self.proxy(self.backends(3))
        seen = collections.Counter()
        for _ in range(9):
            seen[echoed(self.client().request("GET", "/rr"))["backend"]] += 1
        self.assertEqual(seen, {"b1": 3, "b2": 3, "b3": 3})

    def test_post_bodies_round_robin_on_one_connection(self):
        self.proxy(self.backends(3))
        client = self.client()
        seen = collections.Counter()
        for i in range(6):
            body = f"payload number {i}".encode()
            doc = echoed(client.request("POST", f"/submit/{i}", body=body))
            self.assertEqual((doc["method"], doc["target"], doc["body"]),
                             ("POST", f"/submit/{i}", body.decode()))
            seen[doc["backend"]] += 1
        self.assertEqual(sorted(seen.values()), [2, 2, 2])

    def test_method_target_and_end_to_end_headers_preserved(self):
        self.proxy([self.backend()])
        doc = echoed(self.client().request(
            "DELETE", "/a/b%20c?x=1&y=two", headers=[("X-Multi", "one"), ("X-Multi", "two"),
                                                      ("Accept", "*/*")]))
        self.assertEqual((doc["method"], doc["target"]), ("DELETE", "/a/b%20c?x=1&y=two"))
        self.assertEqual(", ".join(header_values(doc, "X-Multi")), "one, two")
        self.assertEqual(header_values(doc, "Accept"), ["*/*"])

    def test_host_preserved_as_sent(self):
        self.proxy([self.backend()])
        doc = echoed(self.client().request("GET", "/", host="Shop.Example.COM:8080"))
        self.assertEqual(header_values(doc, "Host"), ["Shop.Example.COM:8080"])

    def test_hop_by_hop_request_headers_removed(self):
        self.proxy([self.backend()])
        doc = echoed(self.client().request("GET", "/", headers=[
            ("Connection", "keep-alive, X-Hop-Secret"), ("X-Hop-Secret", "1"),
            ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"), ("Trailer", "X-Checksum"), ("Upgrade", "example/1"),
            ("X-End-To-End", "kept")]))
        for name in ("X-Hop-Secret", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade"):
            self.assertEqual(header_values(doc, name), [], f"{name} reached the backend")
        for value in header_values(doc, "Connection"):
            self.assertNotIn("x-hop-secret", value.lower())
        self.assertEqual(header_values(doc, "X-End-To-End"), ["kept"])

    def test_hop_by_hop_response_headers_removed(self):
        self.proxy([self.backend(fb.respond(200, b"ok", headers=[
            ("Connection", "X-Backend-Secret"), ("X-Backend-Secret", "1"),
            ("Keep-Alive", "timeout=99"), ("X-App", "visible")]))])
        resp = self.client().request()
        self.assertEqual((resp.status, resp.body), (200, b"ok"))
        self.assertEqual(resp.header_values("X-Backend-Secret"), [])
        self.assertEqual(resp.header_values("Keep-Alive"), [])
        self.assertEqual(resp.header_values("X-App"), ["visible"])

    def test_forwarded_headers_set(self):
        self.proxy([self.backend()])
        doc = echoed(self.client().request("GET", "/", headers=[
            ("X-Real-IP", "6.6.6.6"), ("X-Forwarded-Proto", "https")]))
        self.assertEqual(header_values(doc, "X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(header_values(doc, "X-Forwarded-Proto"), ["http"])
        self.assertEqual(header_values(doc, "X-Real-IP"), ["127.0.0.1"])

    def test_x_forwarded_for_appended(self):
        self.proxy([self.backend()])
        doc = echoed(self.client().request("GET", "/", headers=[
            ("X-Forwarded-For", "203.0.113.7")]))
        self.assertEqual(header_values(doc, "X-Forwarded-For"), ["203.0.113.7, 127.0.0.1"])
        doc = echoed(self.client().request("GET", "/", headers=[
            ("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "198.51.100.2")]))
        self.assertEqual(", ".join(header_values(doc, "X-Forwarded-For")),
                         "198.51.100.1, 198.51.100.2, 127.0.0.1")


if __name__ == "__main__":
    unittest.main()
