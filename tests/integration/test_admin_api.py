"""The pools admin API (issue 4 §5): GET /api/pools describes every pool
and backend; POST .../{drain|maint|ready} changes routing — draining keeps
requests in flight but takes no new ones, maint takes none, ready restores
— and each change is logged once. With admin.token_file every admin
request needs the bearer token."""
import collections
import json
import os
import threading
import time
import unittest

import fake_backend as fb
from health_helpers import admin_request, api_backend, api_pools, set_admin_state
from lbd_harness import LbdTestCase, config, pool


class AdminApiTest(LbdTestCase):
    def hits(self, n=9):
        seen = collections.Counter()
        for i in range(n):
            resp = self.client().request("GET", f"/{i}")
            self.assertEqual(resp.status, 200, resp)
            seen[resp.header("X-Backend")] += 1
        return seen

    def test_get_pools_describes_every_backend(self):
        a, b = self.backend(name="a"), self.backend(name="b")
        lbd = self.start_lbd(config([
            pool("app", [a, b], strategy="weighted_round_robin",
                 health_check={"path": "/healthz", "interval": "200ms", "timeout": "100ms"}),
            pool("other", [b]),
        ]))
        time.sleep(0.6)
        doc = api_pools(lbd)
        self.assertEqual([p["name"] for p in doc["pools"]], ["app", "other"])
        app, other = doc["pools"]
        self.assertEqual(app["strategy"], "weighted_round_robin")
        self.assertEqual(app["health_check"]["path"], "/healthz")
        self.assertEqual(app["health_check"]["expect_status"], ["200-399"])
        self.assertIsNone(other["health_check"])
        first = app["backends"][0]
        self.assertEqual((first["name"], first["address"], first["weight"]), ("a", a.address, 1))
        self.assertEqual((first["state"], first["admin_state"], first["in_flight"]), ("up", "ready", 0))
        self.assertGreaterEqual(first["checks"]["success"], 1)
        last = first["active"]["history"][-1]
        self.assertEqual((last["result"], last["detail"]), ("success", "HTTP 200"))
        self.assertRegex(last["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(first["passive"]["ejected"], False)
        self.assertIsNone(other["backends"][0]["active"])

    def test_in_flight_is_counted(self):
        slow = self.backend(fb.delayed(1.0), name="slow")
        lbd = self.proxy([slow])
        t = threading.Thread(target=lambda: self.client().request("GET", "/slow"), daemon=True)
        t.start()
        time.sleep(0.4)
        self.assertEqual(api_backend(lbd, "app", "slow")["in_flight"], 1)
        t.join(5)
        self.assertEqual(api_backend(lbd, "app", "slow")["in_flight"], 0)

    def test_drain_keeps_requests_in_flight_and_takes_no_new_ones(self):
        a = self.backend(fb.when(lambda r: r.target == "/slow", fb.delayed(1.0)), name="a")
        b = self.backend(name="b")
        lbd = self.proxy([a, b])
        result = {}
        t = threading.Thread(target=lambda: result.update(r=self.client().request("GET", "/slow")), daemon=True)
        t.start()  # round robin: this one lands on a
        time.sleep(0.3)
        resp = set_admin_state(lbd, "app", "a", "drain")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(json.loads(resp.body)["state"], "draining")
        self.assertEqual(self.hits(), {"b": 9})
        t.join(5)
        self.assertEqual((result["r"].status, result["r"].header("X-Backend")), (200, "a"))

        self.assertEqual(set_admin_state(lbd, "app", "a", "ready").status, 200)
        self.assertEqual(set(self.hits()), {"a", "b"})
        log = lbd.stderr()
        self.assertEqual(log.count("pool app backend a: up -> draining (set to draining through the admin API)"), 1)
        self.assertEqual(log.count("pool app backend a: draining -> up (set to ready through the admin API)"), 1)

    def test_maint_takes_nothing_and_ready_restores(self):
        a, b = self.backend(name="a"), self.backend(name="b")
        lbd = self.proxy([a, b])
        self.assertEqual(set_admin_state(lbd, "app", "b", "maint").status, 200)
        self.assertEqual(api_backend(lbd, "app", "b")["state"], "maint")
        self.assertEqual(self.hits(), {"a": 9})
        self.assertEqual(set_admin_state(lbd, "app", "a", "maint").status, 200)
        self.assertEqual(self.client().request("GET", "/").status, 503)
        set_admin_state(lbd, "app", "a", "ready")
        set_admin_state(lbd, "app", "b", "ready")
        self.assertEqual(set(self.hits()), {"a", "b"})
        self.assertEqual(lbd.stderr().count("pool app backend b: up -> maint"), 1)

    def test_bad_requests_are_refused_clearly(self):
        lbd = self.proxy([self.backend(name="a")])
        resp = set_admin_state(lbd, "app", "nope", "drain")
        self.assertEqual(resp.status, 404)
        self.assertEqual(json.loads(resp.body)["error"], "no backend 'nope' in pool 'app'")
        resp = set_admin_state(lbd, "app", "a", "pause")
        self.assertEqual(resp.status, 404)
        self.assertIn("valid: drain, maint, ready", json.loads(resp.body)["error"])
        self.assertEqual(admin_request(lbd, "POST", "/api/pools/app/a/drain").status, 404)
        self.assertEqual(admin_request(lbd, "GET", "/api/pools/app/backends/a/drain").status, 405)
        self.assertEqual(admin_request(lbd, "POST", "/api/pools").status, 405)
        self.assertEqual(api_backend(lbd, "app", "a")["state"], "up")

    def test_token_is_required_when_configured(self):
        token_path = os.path.join(self.tmp.name, "admin.token")
        with open(token_path, "w") as f:
            f.write("s3cret-token\n")
        cfg = config([pool("app", [self.backend(name="a")])])
        cfg["admin"]["token_file"] = token_path
        lbd = self.start_lbd(cfg, admin_token="s3cret-token")
        self.assertEqual(admin_request(lbd, "GET", "/api/pools").status, 401)
        self.assertEqual(admin_request(lbd, "GET", "/api/pools", token="wrong").status, 401)
        self.assertEqual(set_admin_state(lbd, "app", "a", "maint").status, 401)
        self.assertEqual(api_backend(lbd, "app", "a", token="s3cret-token")["state"], "up")
        self.assertEqual(set_admin_state(lbd, "app", "a", "maint", token="s3cret-token").status, 200)
        self.assertEqual(api_backend(lbd, "app", "a", token="s3cret-token")["state"], "maint")

    def test_unreadable_token_file_stops_startup(self):
        cfg = config([pool("app", [self.backend(name="a")])])
        cfg["admin"]["token_file"] = os.path.join(self.tmp.name, "missing.token")
        from lbd_harness import Lbd
        lbd = Lbd(cfg, self.tmp.name)
        self.addCleanup(lbd.kill)
        with self.assertRaises(AssertionError) as ctx:
            lbd.start()
        self.assertIn("missing.token: No such file or directory", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
