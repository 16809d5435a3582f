"""Traffic rules (issue 18): every match kind, action and rewrite of a
route, through a real lbd; a keyed canary split whose keys keep their side
across a reload; the route counter, access log and status page."""
import os
import subprocess
import unittest

from fake_backend import delayed, echo, respond
from httpwire import get, wait_until
from lbd_harness import LbdTestCase, config, echoed, header_values, pool, reload_config, to_yaml
from prom_text import scrape


def names(*backends):
    return [b.name for b in backends]


class TrafficRulesTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.a, self.b, self.c = (self.backend(name=n) for n in ("a", "b", "c"))
        self.slow = self.backend(delayed(1.0), name="slow")
        self.hdrs = self.backend(respond(200, b"ok", [("Server", "gunicorn"), ("X-Keep", "1")]), name="hdrs")
        pools = [pool(n, [getattr(self, n)]) for n in ("a", "b", "c", "hdrs")]
        pools.append(pool("slow", [self.slow], timeouts={"connect": "1s", "response": "500ms"}))
        self.start_lbd(config(pools, routes=[
            {"name": "maint", "host": "down.example.com",
             "respond": {"status": 503, "body": "down for maintenance\n", "content_type": "text/plain"}},
            {"name": "https", "host": "plain.example.com",
             "redirect": {"to": "https://{host}{path}{query}", "status": 308}},
            {"name": "moved", "path_prefix": "/old/",
             "redirect": {"to": "{scheme}://new.example.com/n{path}{query}", "status": 301}},
            {"name": "exact-host", "host": "api.example.com", "path_prefix": "/v1/", "pool": "a"},
            {"name": "wild", "host": "*.example.com", "path_exact": "/wild", "pool": "b"},
            {"name": "regex", "path_regex": "^/v[0-9]+/models$", "pool": "c"},
            {"name": "post-only", "path_prefix": "/submit", "methods": ["POST", "PUT"], "pool": "a"},
            {"name": "llama", "headers": {"X-Model": "llama-3"}, "pool": "b"},
            {"name": "gpt", "headers": {"X-Model": "~^gpt-4"}, "pool": "c"},
            {"name": "debug", "headers": {"X-Debug": "*"}, "pool": "a"},
            {"name": "local2", "client_cidr": ["127.0.0.2/32"], "pool": "c"},
            {"name": "api", "path_prefix": "/api/", "strip_prefix": "/api", "add_prefix": "/v2/", "pool": "a",
             "request_headers": {"set": {"X-Tenant": "acme"}, "add": {"X-Added": "yes"}, "remove": ["X-Secret"]}},
            {"name": "hsts", "path_prefix": "/h", "pool": "hdrs",
             "response_headers": {"set": {"Strict-Transport-Security": "max-age=63072000"},
                                  "add": {"X-Frame-Options": "DENY"}, "remove": ["Server"]}},
            {"name": "stream", "path_prefix": "/stream", "pool": "slow", "timeouts": {"response": "2s"}},
            {"name": "short", "path_prefix": "/short", "pool": "slow"},
            {"host": "*.example.com", "pool": "c"},
        ]))

    def get(self, target="/", host="x.test", headers=(), method="GET", client=None, body=b""):
        return (client or self.client()).request(method, target, headers=headers, host=host, body=body)

    def backend_of(self, *args, **kw):
        return echoed(self.get(*args, **kw))["backend"]

    def test_each_match_kind(self):
        cases = [
            ("exact host + prefix", dict(target="/v1/x", host="API.example.com:8080"), "a"),
            ("exact host, other path falls through to the wildcard", dict(target="/v2", host="api.example.com"), "c"),
            ("wildcard host + path_exact", dict(target="/wild", host="deep.sub.example.com"), "b"),
            ("path_exact ignores the query", dict(target="/wild?x=1", host="w.example.com"), "b"),
            ("path_regex", dict(target="/v3/models"), "c"),
            ("method listed", dict(target="/submit", method="POST"), "a"),
            ("header exact", dict(headers=[("X-Model", "llama-3")]), "b"),
            ("header regex", dict(headers=[("x-model", "gpt-4o")]), "c"),
            ("header present", dict(headers=[("X-Debug", "0")]), "a"),
        ]
        for what, kw, expected in cases:
            with self.subTest(what):
                self.assertEqual(self.backend_of(**kw), expected)
        for what, kw in [("no route", dict(target="/nothing")),
                         ("method not listed", dict(target="/submit")),
                         ("regex anchored", dict(target="/v3/models/1")),
                         ("header value differs", dict(headers=[("X-Model", "mistral")])),
                         ("the bare domain is not under *.", dict(target="/wild", host="example.com"))]:
            with self.subTest(what):
                self.assertEqual(self.get(**kw).status, 404)

    def test_client_network(self):
        self.assertEqual(self.get(client=self.client()).status, 404)  # from 127.0.0.1
        self.assertEqual(echoed(self.get(client=self.client(source="127.0.0.2")))["backend"], "c")

    def test_respond_keeps_the_connection(self):
        client = self.client()
        r = self.get(host="down.example.com", client=client)
        self.assertEqual((r.status, r.body, r.header("Content-Type")), (503, b"down for maintenance\n", "text/plain"))
        r = self.get(host="down.example.com", client=client, method="POST", body=b"x" * 100)
        self.assertEqual(r.status, 503)
        self.assertEqual(self.backend_of(target="/v1/", host="api.example.com", client=client), "a")

    def test_redirects(self):
        r = self.get(target="/a/b?q=1&r=2", host="Plain.example.com:8080")
        self.assertEqual((r.status, r.header("Location")), (308, "https://plain.example.com/a/b?q=1&r=2"))
        r = self.get(target="/old/x", host="h.test")
        self.assertEqual((r.status, r.header("Location")), (301, "http://new.example.com/n/old/x"))
        self.assertEqual(r.header("Content-Length"), "0")

    def test_path_and_request_header_rewrites(self):
        doc = echoed(self.get(target="/api/users?id=3&x=/y",
                              headers=[("X-Tenant", "evil"), ("X-Secret", "s"), ("X-Added", "client")]))
        self.assertEqual(doc["backend"], "a")
        self.assertEqual(doc["target"], "/v2/users?id=3&x=/y")
        self.assertEqual(header_values(doc, "X-Tenant"), ["acme"])
        self.assertEqual(header_values(doc, "X-Secret"), [])
        self.assertEqual(header_values(doc, "X-Added"), ["client", "yes"])
        self.assertEqual(echoed(self.get(target="/api/"))["target"], "/v2/")
        # Hop-by-hop rules still win: a field the client's Connection names
        # is dropped, and lbd's own X-Forwarded-For is still set.
        doc = echoed(self.get(target="/api/x", headers=[("Connection", "X-Drop"), ("X-Drop", "1")]))
        self.assertEqual(header_values(doc, "X-Drop"), [])
        self.assertEqual(header_values(doc, "X-Forwarded-For"), ["127.0.0.1"])

    def test_response_header_rewrites(self):
        r = self.get(target="/h")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Strict-Transport-Security"), "max-age=63072000")
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        self.assertIsNone(r.header("Server"))
        self.assertEqual(r.header("X-Keep"), "1")
        self.assertIsNone(self.get(target="/v1/x", host="api.example.com").header("Strict-Transport-Security"))

    def test_route_response_timeout_overrides_the_pools(self):
        self.assertEqual(self.get(target="/short").status, 504)  # the pool's 500ms < the backend's 1s
        self.assertEqual(self.get(target="/stream").status, 200)  # the route's 2s

    def test_metrics_access_log_and_status_page(self):
        for _ in range(3):
            self.get(headers=[("X-Model", "llama-3")])
        self.get(target="/v1/x", host="api.example.com")
        self.get(target="/nothing")
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_route_requests_total", listener="web", route="llama"), 3)
        self.assertEqual(s.value("lbd_route_requests_total", listener="web", route="exact-host"), 1)
        self.assertEqual(s.value("lbd_route_requests_total", listener="web", route="15"), 0)  # unnamed: its index
        # Access lines are written when the worker's loop turn ends, which
        # can be just after the client has its answer.
        self.assertTrue(wait_until(lambda: any(e["path"] == "/nothing" for e in self.lbd.access_log()), 3),
                        self.lbd.stdout())
        log = self.lbd.access_log()
        self.assertEqual([e["route"] for e in log[-5:]], ["llama"] * 3 + ["exact-host", "-"])
        page = get(self.lbd.admin_port, "/status", host=f"127.0.0.1:{self.lbd.admin_port}").body.decode()
        self.assertIn('data-route="web/llama"', page)
        self.assertIn("header X-Model llama-3", page)


class CanarySplitTest(LbdTestCase):
    KEYS = 1000

    def sides(self, client):
        out = {}
        for i in range(self.KEYS):
            out[i] = echoed(client.request("GET", "/chat", headers=[("Cookie", f"theme=x; uid=user{i}")]))["backend"]
        return out

    def test_weights_hold_and_keys_keep_their_side_across_a_reload(self):
        v1, v2 = self.backend(name="v1"), self.backend(name="v2")
        self.start_lbd(config([pool("v1", [v1]), pool("v2", [v2])], routes=[
            {"name": "chat", "pools": [{"pool": "v1", "weight": 80}, {"pool": "v2", "weight": 20}],
             "split_by": "cookie:uid"}]))
        before = self.sides(self.client())
        share = sum(1 for s in before.values() if s == "v2") / self.KEYS
        self.assertAlmostEqual(share, 0.20, delta=0.04)
        reload_config(self.lbd)
        after = self.sides(self.client())
        moved = [k for k in before if before[k] != after[k]]
        self.assertEqual(moved, [])
        # Without the key, requests are spread by the weights too.
        client = self.client()
        drawn = [echoed(client.request("GET", "/chat"))["backend"] for _ in range(400)]
        self.assertAlmostEqual(drawn.count("v2") / len(drawn), 0.20, delta=0.07)


class ShadowWarningTest(LbdTestCase):
    def test_check_warns_about_a_route_that_never_matches(self):
        cfg = config([pool("app", ["127.0.0.1:9"])], routes=[
            {"host": "api.example.com", "path_prefix": "/v1/", "pool": "app"},
            {"host": "API.example.com", "path_prefix": "/v1/users", "pool": "app"},
            {"pool": "app"},
            {"name": "late", "path_exact": "/x", "pool": "app"}])
        cfg["admin"]["listen"] = "127.0.0.1:19901"  # --check binds nothing
        cfg["listeners"][0]["listen"] = "127.0.0.1:18080"
        path = os.path.join(self.tmp.name, "lbd.yaml")
        with open(path, "w") as f:
            f.write(to_yaml(cfg) + "\n")
        out = subprocess.run([os.environ["LBD_BIN"], "--check", "-c", path], capture_output=True, text=True,
                             timeout=10)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual(len(lines), 3, out.stdout)
        self.assertRegex(lines[0], r"listeners\[0\]\.routes\[1\]: never matches: routes\[0\] at line \d+ comes first")
        self.assertRegex(lines[1], r"listeners\[0\]\.routes\[3\]: never matches: routes\[2\] at line \d+ comes first "
                                   r"and matches every request \(warning\)")
        self.assertEqual(lines[2], f"{path}: ok")


if __name__ == "__main__":
    unittest.main()
