"""session.mode passthrough (issue 5 §2): no affinity of lbd's own. Requests
are balanced by the pool's strategy, every Cookie and Set-Cookie passes
untouched both ways, and apps that keep their sessions in a shared Redis
keep counting whichever of them serves (issue 5 §3)."""
import collections
import json

import fake_backend as fb
from httpwire import get
from lbd_harness import LbdTestCase, config, echoed, header_values, pool
from demo_backends import DemoBackend
from session_helpers import CookieJar, RedisServer

APP_SET_COOKIES = [
    "LBSTICKY=from-the-app; Path=/",           # lbd's default sticky name: still the app's here
    "sid=\"quoted value\"; Path=/app; HttpOnly; Secure; SameSite=None",
    "theme=dark; Max-Age=60",
]


def echo_setting_cookies(ex, req):
    """echo, plus Set-Cookie fields the proxy must pass on as they are."""
    doc = {"backend": ex.backend.name, "headers": req.headers}
    headers = [("Content-Type", "application/json")] + [("Set-Cookie", v) for v in APP_SET_COOKIES]
    ex.respond(200, json.dumps(doc).encode(), headers)
    return not req.wants_close()


def passthrough_pool(backends, **kw):
    return pool("app", backends, session={"mode": "passthrough"}, **kw)


class PassthroughTest(LbdTestCase):
    def test_same_session_cookie_lands_on_every_backend_and_cookies_pass_untouched(self):
        backends = self.backends(3, handler=echo_setting_cookies)
        self.start_lbd(config([passthrough_pool(backends)]))
        cookie = "sid=abc123; LBSTICKY=client-value;theme=dark;  odd=\"a b\""
        seen = collections.Counter()
        for i in range(9):
            r = get(self.lbd.port, f"/{i}", [("Cookie", cookie), ("Cookie", "second=field")])
            doc = echoed(r)
            seen[doc["backend"]] += 1
            self.assertEqual(header_values(doc, "Cookie"), [cookie, "second=field"])
            self.assertEqual(r.header_values("Set-Cookie"), APP_SET_COOKIES)
        self.assertEqual(seen, {b.name: 3 for b in backends}, "passthrough still balances round-robin")

    def test_strategy_still_applies(self):
        # ip_hash: one client address, one backend, whatever the cookies say.
        backends = self.backends(3)
        self.start_lbd(config([passthrough_pool(backends, strategy="ip_hash")]))
        served = {echoed(get(self.lbd.port, "/", [("Cookie", f"sid={i}")]))["backend"] for i in range(6)}
        self.assertEqual(len(served), 1)

    def test_error_responses_set_no_cookie(self):
        self.start_lbd(config([passthrough_pool([f"127.0.0.1:{fb.closed_port()}"], retries=0)]))
        r = get(self.lbd.port, "/", [("Cookie", "sid=1")])
        self.assertEqual(r.status, 502)
        self.assertEqual(r.header_values("Set-Cookie"), [])


class PassthroughRedisTest(LbdTestCase):
    def start_apps(self, redis_port=None):
        apps = [DemoBackend(f"app{i}", redis_port=redis_port, log_dir=self.tmp.name) for i in range(1, 4)]
        for a in apps:
            self.addCleanup(a.stop)
        self.start_lbd(config([passthrough_pool(apps)]))
        return apps

    def visits(self, jar, n):
        docs = []
        for _ in range(n):
            r = get(self.lbd.port, "/session", jar.headers())
            self.assertEqual(r.status, 200, r)
            jar.update(r)
            docs.append(json.loads(r.body))
        return docs

    def test_redis_backed_sessions_count_up_without_a_break_across_backends(self):
        redis = RedisServer(self.tmp.name)
        self.addCleanup(redis.stop)
        self.start_apps(redis.port)
        alice, bob = CookieJar(), CookieJar()
        a = self.visits(alice, 12)
        self.assertEqual({d["store"] for d in a}, {"redis"})
        self.assertEqual([d["visits"] for d in a], list(range(1, 13)), "the counter broke")
        self.assertEqual(len({d["session"] for d in a}), 1, "one session throughout")
        self.assertEqual({d["backend"] for d in a}, {"app1", "app2", "app3"}, "the session moved between apps")
        self.assertEqual(list(alice.cookies), ["demo_sid_redis"], "lbd added no cookie of its own")
        # Another user has a session of their own, counted separately.
        b = self.visits(bob, 3)
        self.assertEqual([d["visits"] for d in b], [1, 2, 3])
        self.assertNotEqual(b[0]["session"], a[0]["session"])
        self.assertIn(f"lbd-demo:session:{a[0]['session']}".encode(), redis.command("KEYS", "lbd-demo:*"))

    def test_in_memory_sessions_break_without_affinity(self):
        # Why sticky exists: the same apps with sessions in their own memory
        # lose the user whenever another app serves them.
        self.start_apps()
        docs = self.visits(CookieJar(), 6)
        self.assertEqual({d["store"] for d in docs}, {"memory"})
        self.assertEqual([d["visits"] for d in docs], [1] * 6)
        self.assertTrue(all(d["new"] for d in docs))


if __name__ == "__main__":
    import unittest
    unittest.main()
