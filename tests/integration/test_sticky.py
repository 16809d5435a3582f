"""session.mode sticky (issue 5 §1): an HMAC-signed cookie pins a client to
a backend without any shared store; forged, truncated, expired and
unknown-backend cookies are ignored and replaced; a down backend's users
are re-pinned; backends never see lbd's cookie; replicas with the same key
honour each other's cookies."""
import collections
import json
import os
import re
import signal
import subprocess
import time

import fake_backend as fb
from health_helpers import admin_request
from httpwire import HttpClient, get, wait_until
from lbd_harness import LBD_BIN, Lbd, free_port, LbdTestCase, config, echoed, header_values, pool, to_yaml
from demo_backends import DemoBackend
from session_helpers import (CookieJar, backend_id, make_cookie, parse_set_cookie,
                             read_cookie, write_key)

COOKIE = "LBSTICKY"
TTL = 1800


def sticky_pool(backends, key_path, name="app", cookie=None, **overrides):
    cookie_cfg = {"name": COOKIE, "ttl": "30m", "secret_file": key_path}
    cookie_cfg.update(cookie or {})
    return pool(name, backends, session={"mode": "sticky", "cookie": cookie_cfg}, **overrides)


class StickyTestCase(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.key_path, self.key = write_key(self.tmp.name)

    def sticky(self, backends, workers=1, **kw):
        cfg = config([sticky_pool(backends, self.key_path, **kw)])
        cfg["workers"] = workers
        return self.start_lbd(cfg)

    def start_lbd_in(self, cfg, subdir):
        workdir = os.path.join(self.tmp.name, subdir)
        os.makedirs(workdir, exist_ok=True)
        lbd = Lbd(cfg, workdir)
        self.addCleanup(lbd.kill)
        self.addCleanup(lbd.stop)
        return lbd.start()

    def lbd_cookie(self, response):
        """The value of lbd's Set-Cookie in a response, or None."""
        for sc in response.header_values("Set-Cookie"):
            name, value, _ = parse_set_cookie(sc)
            if name == COOKIE:
                return value
        return None

    def pinned_name(self, cookie_value, names, pool_name="app"):
        ident, _ = read_cookie(self.key, cookie_value)
        matches = [n for n in names if backend_id(pool_name, n) == ident]
        self.assertEqual(len(matches), 1, f"cookie names none of {names}")
        return matches[0]

    def request_with(self, cookie_header, port=None, target="/"):
        headers = [("Cookie", cookie_header)] if cookie_header else []
        return get(port or self.lbd.port, target, headers)


class StickyCookieTest(StickyTestCase):
    def test_a_cookie_jar_client_stays_on_one_backend_for_100_requests(self):
        backends = self.backends(3)
        self.sticky(backends, workers=2)  # new connections land on either worker
        jar = CookieJar()
        first = self.client().request("GET", "/0", jar.headers())
        set_cookies = jar.update(first)
        self.assertEqual(len(set_cookies), 1, first)
        name, value, attrs = parse_set_cookie(set_cookies[0])
        self.assertEqual(name, COOKIE)
        self.assertEqual(attrs, {"path": "/", "max-age": str(TTL), "httponly": True, "samesite": "Lax"})
        home = echoed(first)["backend"]
        self.assertEqual(self.pinned_name(value, [b.name for b in backends]), home)

        seen = collections.Counter()
        renewed = 0
        keep_alive = self.client()
        for i in range(1, 101):
            # Half the requests on one kept-alive connection, half on new ones.
            client = keep_alive if i % 2 else HttpClient(self.lbd.port)
            r = client.request("GET", f"/{i}", jar.headers())
            if client is not keep_alive:
                client.close()
            seen[echoed(r)["backend"]] += 1
            renewed += len(jar.update(r))
        self.assertEqual(seen, {home: 100})
        self.assertEqual(renewed, 0, "a fresh cookie is not renewed on every response")

        # Without the cookie the same pool balances as usual.
        spread = collections.Counter(echoed(self.client().request("GET", "/"))["backend"] for _ in range(6))
        self.assertEqual(set(spread), {b.name for b in backends})

    def test_the_configured_attributes_are_set(self):
        self.start_lbd(config([sticky_pool(self.backends(1), self.key_path, cookie={
            "name": "SRV", "ttl": "2h", "secure": True, "http_only": False, "same_site": "Strict"})]))
        name, _, attrs = parse_set_cookie(self.client().request().header("Set-Cookie"))
        self.assertEqual(name, "SRV")
        self.assertEqual(attrs, {"path": "/", "max-age": "7200", "secure": True, "samesite": "Strict"})

    def test_the_backend_never_sees_lbds_cookie_and_gets_the_others_unchanged(self):
        backends = self.backends(2)
        self.sticky(backends)
        value = self.lbd_cookie(self.client().request())
        cases = [
            f"{COOKIE}={value}",
            f"sid=\"a b\"; {COOKIE}={value}; theme=dark; lbsticky=lower; LBSTICKY2=x",
            f"{COOKIE}={value};sid=1",
            f"{COOKIE}=forged-junk; sid=2",
        ]
        for header in cases:
            doc = echoed(self.request_with(header))
            got = header_values(doc, "Cookie")
            expected = "; ".join(p.strip() for p in header.split(";") if not p.strip().startswith(COOKIE + "="))
            self.assertEqual(got, [expected] if expected else [], header)
        # Several Cookie fields: each is cleaned on its own.
        r = self.client().request("GET", "/", [("Cookie", f"a=1; {COOKIE}={value}"), ("Cookie", f"{COOKIE}={value}"),
                                             ("Cookie", "b=2")])
        self.assertEqual(header_values(echoed(r), "Cookie"), ["a=1", "b=2"])
        for b in backends:
            for req in b.requests:
                for v in req.header_values("Cookie"):
                    self.assertNotIn(COOKIE + "=", v)

    def test_a_cookie_made_elsewhere_with_the_same_key_is_honoured(self):
        # Cookies built in Python from the documented format: proves the
        # format, and that lbd keeps no state of its own about them.
        backends = self.backends(3)
        self.sticky(backends)
        for target in backends:
            value = make_cookie(self.key, "app", target.name, time.time() + TTL - 60)
            for _ in range(4):
                r = self.request_with(f"{COOKIE}={value}")
                self.assertEqual(echoed(r)["backend"], target.name)
                self.assertIsNone(self.lbd_cookie(r), "a fresh valid cookie is left alone")

    def assertIgnoredAndReplaced(self, cookie_value, backends, why):
        """Requests carrying this cookie are balanced (all backends serve
        them in turn) and each response sets a valid new cookie naming the
        backend that served it."""
        seen = set()
        for _ in range(2 * len(backends)):
            r = self.request_with(f"{COOKIE}={cookie_value}")
            served = echoed(r)["backend"]
            seen.add(served)
            fresh = self.lbd_cookie(r)
            self.assertIsNotNone(fresh, f"{why}: no new cookie")
            self.assertEqual(self.pinned_name(fresh, [b.name for b in backends]), served, why)
            _, expires = read_cookie(self.key, fresh)
            self.assertAlmostEqual(expires, time.time() + TTL, delta=30)
        self.assertEqual(seen, {b.name for b in backends}, f"{why}: not balanced")

    def test_tampered_truncated_forged_expired_and_unknown_cookies_are_replaced(self):
        backends = self.backends(3)
        self.sticky(backends)
        now = time.time()
        good = make_cookie(self.key, "app", backends[0].name, now + 600)
        tampered = good[:20] + ("A" if good[20] != "A" else "B") + good[21:]
        other_key = os.urandom(32)
        cases = {
            "tampered": tampered,
            "truncated": good[:-4],
            "extended": good + "AAAA",
            "empty": "",
            "not base64": "!!" + good[2:],
            "another key": make_cookie(other_key, "app", backends[0].name, now + 600),
            "expired": make_cookie(self.key, "app", backends[0].name, now - 5),
            "unknown backend": make_cookie(self.key, "app", "no-such-backend", now + 600),
            "another pool": make_cookie(self.key, "api", backends[0].name, now + 600),
        }
        for why, value in cases.items():
            with self.subTest(why):
                self.assertIgnoredAndReplaced(value, backends, why)
        # And the genuine article still pins.
        self.assertEqual(echoed(self.request_with(f"{COOKIE}={good}"))["backend"], backends[0].name)

    def test_the_cookie_is_renewed_only_past_half_its_lifetime(self):
        backends = self.backends(2)
        self.sticky(backends)
        now = time.time()
        young = make_cookie(self.key, "app", backends[1].name, now + TTL - 60)
        r = self.request_with(f"{COOKIE}={young}")
        self.assertEqual(echoed(r)["backend"], backends[1].name)
        self.assertIsNone(self.lbd_cookie(r))

        old = make_cookie(self.key, "app", backends[1].name, now + TTL // 2 - 60)
        r = self.request_with(f"{COOKIE}={old}")
        self.assertEqual(echoed(r)["backend"], backends[1].name)
        renewed = self.lbd_cookie(r)
        self.assertIsNotNone(renewed, "a cookie past half its TTL is renewed")
        ident, expires = read_cookie(self.key, renewed)
        self.assertEqual(ident, backend_id("app", backends[1].name), "renewal keeps the backend")
        self.assertAlmostEqual(expires, time.time() + TTL, delta=30)


class StickyFailoverTest(StickyTestCase):
    def test_pinned_backend_going_down_repins_and_the_session_continues(self):
        backends = [DemoBackend(f"app{i}", log_dir=self.tmp.name) for i in range(1, 4)]
        for b in backends:
            self.addCleanup(b.stop)
        self.sticky(backends)
        jar = CookieJar()

        def visit():
            r = get(self.lbd.port, "/session", jar.headers())
            self.assertEqual(r.status, 200, r)
            jar.update(r)
            return json.loads(r.body)

        first = [visit() for _ in range(5)]
        home = first[0]["backend"]
        self.assertEqual([d["backend"] for d in first], [home] * 5)
        self.assertEqual([d["visits"] for d in first], [1, 2, 3, 4, 5], "in-memory session counts up")
        self.assertEqual(self.pinned_name(jar.cookies[COOKIE], [b.name for b in backends]), home)

        next(b for b in backends if b.name == home).stop()
        after = visit()
        self.assertNotEqual(after["backend"], home)
        # The new home is pinned by a new cookie; its in-memory store never
        # saw this user, so the app starts a new session there.
        self.assertEqual(self.pinned_name(jar.cookies[COOKIE], [b.name for b in backends]), after["backend"])
        later = [visit() for _ in range(5)]
        self.assertEqual({d["backend"] for d in later}, {after["backend"]})
        self.assertEqual([d["visits"] for d in later], [after["visits"] + i for i in range(1, 6)],
                         "the session continues, unbroken, on the new backend")

    def test_retry_after_connect_failure_pins_the_backend_that_served(self):
        live = self.backends(2)
        dead = f"127.0.0.1:{fb.closed_port()}"
        self.sticky([dead, *live])  # the dead one is named addr1
        pinned_to_dead = make_cookie(self.key, "app", "addr1", time.time() + 600)
        for _ in range(4):
            r = self.request_with(f"{COOKIE}={pinned_to_dead}")
            served = echoed(r)["backend"]
            self.assertIn(served, {b.name for b in live})
            fresh = self.lbd_cookie(r)
            self.assertIsNotNone(fresh)
            self.assertEqual(self.pinned_name(fresh, ["addr1"] + [b.name for b in live]), served)

    def test_no_usable_backend_answers_503_without_a_cookie(self):
        self.sticky([f"127.0.0.1:{fb.closed_port()}"], retries=0)
        r = self.client().request()
        self.assertEqual(r.status, 502)
        self.assertEqual(r.header_values("Set-Cookie"), [])


class StickyAdminStateTest(StickyTestCase):
    """Drain and maint through the admin API, as an operator does them."""

    def pin_to(self, name):
        return make_cookie(self.key, "app", name, time.time() + 1700)  # ttl 30m: no renewal due

    def set_state(self, backend, state):
        self.assertEqual(admin_request(self.lbd, "POST", f"/api/pools/app/backends/{backend}/{state}").status, 200)

    def test_draining_keeps_pinned_users_and_takes_no_new_ones(self):
        backends = self.backends(3)
        self.sticky(backends)
        drained = backends[0].name
        pinned = self.pin_to(drained)
        self.set_state(drained, "drain")
        for _ in range(5):
            r = self.request_with(f"{COOKIE}={pinned}")
            self.assertEqual(echoed(r)["backend"], drained)
            self.assertIsNone(self.lbd_cookie(r), "a valid pin to a draining backend needs no new cookie")
        for _ in range(9):  # new users: balanced over the other two, each pinned there
            r = self.request_with(None)
            self.assertNotEqual(echoed(r)["backend"], drained)
            self.assertEqual(self.pinned_name(self.lbd_cookie(r), [b.name for b in backends]), echoed(r)["backend"])

    def test_maint_re_pins_its_users_and_ready_brings_it_back(self):
        backends = self.backends(2)
        self.sticky(backends)
        held = backends[0].name
        pinned = self.pin_to(held)
        self.set_state(held, "maint")
        r = self.request_with(f"{COOKIE}={pinned}")
        moved_to = echoed(r)["backend"]
        self.assertNotEqual(moved_to, held)
        self.assertEqual(self.pinned_name(self.lbd_cookie(r), [b.name for b in backends]), moved_to)
        self.set_state(held, "ready")
        self.assertEqual(echoed(self.request_with(f"{COOKIE}={pinned}"))["backend"], held)


class StickyReplicasTest(StickyTestCase):
    def test_two_lbd_instances_with_the_same_key_route_one_cookie_alike(self):
        backends = self.backends(3)
        # Replica B lists the backends in another order and uses another
        # strategy: only the names and the key matter.
        a = self.start_lbd_in(config([sticky_pool(backends, self.key_path)]), "a")
        b_pool = sticky_pool(list(reversed(backends)), self.key_path, strategy="least_connections")
        b = self.start_lbd_in(config([b_pool]), "b")
        other_key_path, _ = write_key(self.tmp.name, "other.key")
        c = self.start_lbd_in(config([sticky_pool(backends, other_key_path)]), "c")

        for _ in range(3):
            r = get(a.port, "/")
            home = echoed(r)["backend"]
            jar = CookieJar()
            jar.update(r)
            for lbd in (a, b, a, b):
                r = get(lbd.port, "/", jar.headers())
                self.assertEqual(echoed(r)["backend"], home, "the replicas disagree")
                self.assertEqual(r.header_values("Set-Cookie"), [])
            # A replica with another key does not trust the cookie.
            r = get(c.port, "/", jar.headers())
            self.assertIsNotNone(self.lbd_cookie(r), "a cookie signed under another key was honoured")


class StickyKeyFileTest(StickyTestCase):
    @staticmethod
    def with_ports(cfg):
        cfg["admin"]["listen"] = f"127.0.0.1:{free_port()}"
        cfg["listeners"][0]["listen"] = f"127.0.0.1:{free_port()}"
        return cfg

    def check(self, cfg):
        self.with_ports(cfg)
        path = os.path.join(self.tmp.name, "check.yaml")
        text = to_yaml(cfg) + "\n"
        with open(path, "w") as f:
            f.write(text)
        proc = subprocess.run([LBD_BIN, "--check", "-c", path], capture_output=True, text=True, timeout=20)
        return path, text, proc.returncode, (proc.stdout + proc.stderr).splitlines()

    def assertKeyError(self, key_path, message):
        path, text, status, lines = self.check(config([sticky_pool(["127.0.0.1:9"], key_path)]))
        self.assertEqual(status, 2, lines)
        self.assertEqual(len(lines), 1, lines)
        # FILE:LINE:COL at the secret_file value, then the key path and why.
        line = text[: text.index(f"secret_file: \"{key_path}\"")].count("\n") + 1
        m = re.fullmatch(rf"{re.escape(path)}:(\d+):(\d+): pools\[0\]\.session\.cookie\.secret_file: "
                         rf"{re.escape(key_path)}: (.+)", lines[0])
        self.assertIsNotNone(m, lines[0])
        self.assertEqual(int(m.group(1)), line, lines[0])
        self.assertIn(message, m.group(3))

    def test_check_accepts_a_private_key(self):
        path, _, status, lines = self.check(config([sticky_pool(["127.0.0.1:9"], self.key_path)]))
        self.assertEqual((status, lines), (0, [f"{path}: ok"]))

    def test_check_names_the_key_file_and_why_it_is_refused(self):
        readable, _ = write_key(self.tmp.name, "readable.key", mode=0o644)
        self.assertKeyError(readable, "is readable or writable by every user (mode 0644)")
        short, _ = write_key(self.tmp.name, "short.key", key=b"k" * 31)
        self.assertKeyError(short, "holds 31 bytes; a sticky key needs at least 32")
        self.assertKeyError(os.path.join(self.tmp.name, "missing.key"), "cannot open: No such file or directory")
        self.assertKeyError(self.tmp.name, "is not a regular file")

    def test_lbd_refuses_to_start_with_a_bad_key(self):
        readable, _ = write_key(self.tmp.name, "readable.key", mode=0o644)
        cfg_path = os.path.join(self.tmp.name, "lbd.yaml")
        with open(cfg_path, "w") as f:
            f.write(to_yaml(self.with_ports(config([sticky_pool(["127.0.0.1:9"], readable)]))) + "\n")
        proc = subprocess.run([LBD_BIN, "-c", cfg_path], capture_output=True, text=True, timeout=20)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stderr.count("\n"), 1, proc.stderr)
        self.assertIn("pools[0].session.cookie.secret_file: " + readable, proc.stderr)

    def test_reload_reads_the_key_again_and_refuses_a_bad_one(self):
        backends = self.backends(3)
        lbd = self.sticky(backends)
        old = make_cookie(self.key, "app", backends[2].name, time.time() + TTL - 60)
        self.assertIsNone(self.lbd_cookie(self.request_with(f"{COOKIE}={old}")))

        def reload():
            before = lbd.stderr().count("reload")
            lbd.signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: lbd.stderr().count("reload") > before + 1, 5), lbd.stderr())
            time.sleep(0.2)  # the worker applies the snapshot on its next loop turn

        # Rotate: cookies signed with the old key are no longer trusted.
        new_key = os.urandom(32)
        write_key(self.tmp.name, key=new_key)
        reload()
        self.assertIn("reloaded", lbd.stderr())
        r = self.request_with(f"{COOKIE}={old}")
        self.assertIsNotNone(self.lbd_cookie(r), "a cookie under the rotated-out key was honoured")
        newer = make_cookie(new_key, "app", backends[1].name, time.time() + TTL - 60)
        self.assertEqual(echoed(self.request_with(f"{COOKIE}={newer}"))["backend"], backends[1].name)

        # A key others can read: the reload is refused, the running key stays.
        os.chmod(self.key_path, 0o644)
        reload()
        self.assertIn("reload refused", lbd.stderr())
        self.assertIn("is readable or writable by every user", lbd.stderr())
        r = self.request_with(f"{COOKIE}={newer}")
        self.assertEqual(echoed(r)["backend"], backends[1].name)
        self.assertIsNone(self.lbd_cookie(r))


if __name__ == "__main__":
    import unittest
    unittest.main()
