"""Routes by host and path prefix pick the pool; first match wins
(issue 2 §3)."""
import unittest

from lbd_harness import LbdTestCase, config, echoed, pool


class RoutesTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.api, self.static, self.app = (self.backend(name=n) for n in ("api", "static", "app"))
        self.start_lbd(config(
            [pool("api", [self.api]), pool("static", [self.static]), pool("app", [self.app])],
            routes=[{"host": "api.example.com", "path_prefix": "/v1/", "pool": "api"},
                    {"path_prefix": "/static/", "pool": "static"},
                    {"path_prefix": "/static/special/", "pool": "api"},
                    {"pool": "app"}]))

    def backend_for(self, target, host):
        return echoed(self.client().request("GET", target, host=host))["backend"]

    def test_host_and_prefix_pick_the_pool(self):
        cases = [("/v1/users", "api.example.com", "api"),
                 ("/v1/users", "API.Example.com", "api"),
                 ("/v2/users", "api.example.com", "app"),
                 ("/v1/users", "www.example.com", "app"),
                 ("/static/logo.png", "www.example.com", "static"),
                 ("/static", "www.example.com", "app"),
                 ("/", "anything", "app")]
        for target, host, expected in cases:
            with self.subTest(target=target, host=host):
                self.assertEqual(self.backend_for(target, host), expected)

    def test_first_match_wins(self):
        self.assertEqual(self.backend_for("/static/special/x", "www.example.com"), "static")

    def test_routing_per_request_on_one_connection(self):
        client = self.client()
        got = [echoed(client.request("GET", t, host="api.example.com"))["backend"]
               for t in ("/v1/a", "/static/b", "/c", "/v1/d")]
        self.assertEqual(got, ["api", "static", "app", "api"])


if __name__ == "__main__":
    unittest.main()
