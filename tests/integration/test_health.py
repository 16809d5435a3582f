"""Active health checks (issue 4 §1, §6): a backend whose /healthz fails is
taken out within interval x fall + timeout (plus an interval of slack) and
comes back after `rise` passes; one that accepts but never answers is
marked down by the check's timeout; checks follow reloads. Every state
change is logged once with pool, backend, old and new state and reason.
The measured times are printed (run with -v to see them)."""
import collections
import time
import unittest

import fake_backend as fb
from demo_backends import DemoBackend
from health_helpers import api_backend, fully_up, wait_for_state
from httpwire import wait_until
from lbd_harness import LbdTestCase, reload_config

INTERVAL, TIMEOUT, RISE, FALL = 0.5, 0.3, 2, 2
CHECK = {"path": "/healthz", "interval": "500ms", "timeout": "300ms",
         "rise": RISE, "fall": FALL, "expect_status": "200-399"}
POLL_SLACK = 0.25  # the test polls the API every 20 ms on a shared machine


class HealthCheckTest(LbdTestCase):
    def demo(self, name):
        b = DemoBackend(name, log_dir=self.tmp.name)
        self.addCleanup(b.stop)
        return b

    def backends_hit(self, n):
        seen = collections.Counter()
        for _ in range(n):
            resp = self.client().request("GET", "/", host="lbd.test")
            self.assertEqual(resp.status, 200, resp)
            seen[resp.header("X-Backend")] += 1
        return seen

    def test_failing_healthz_is_taken_out_then_back_after_rise_passes(self):
        apps = [self.demo(f"app{i}") for i in (1, 2, 3)]
        lbd = self.proxy(apps, health_check=CHECK)
        self.assertTrue(fully_up(lbd, {"app1", "app2", "app3"}), api_backend(lbd, "app", "app2"))
        self.assertEqual(set(self.backends_hit(9)), {"app1", "app2", "app3"})

        apps[1].set_healthy(False)
        detect = wait_for_state(lbd, "app2", "down", 10)
        bound = INTERVAL * FALL + TIMEOUT + INTERVAL
        print(f"\n  /healthz 503 -> down in {detect:.3f} s (bound {bound:.1f} s)")
        self.assertLessEqual(detect, bound + POLL_SLACK)
        self.assertNotIn("app2", self.backends_hit(12))
        b = api_backend(lbd, "app", "app2")
        self.assertIn("HTTP 503 (expected 200-399)", b["reason"])
        self.assertFalse(b["active"]["up"])
        self.assertFalse(b["passive"]["ejected"])
        self.assertGreaterEqual(b["checks"]["failure"], FALL)
        self.assertEqual(b["active"]["history"][-1]["result"], "failure")

        apps[1].set_healthy(True)
        recover = wait_for_state(lbd, "app2", "up", 10)
        bound = INTERVAL * RISE + TIMEOUT + INTERVAL
        print(f"  /healthz 200 -> up in {recover:.3f} s (bound {bound:.1f} s)")
        self.assertLessEqual(recover, bound + POLL_SLACK)
        self.assertIn("app2", self.backends_hit(9))

        log = lbd.stderr()
        self.assertEqual(log.count("pool app backend app2: up -> down (active check: GET /healthz: HTTP 503"), 1, log)
        self.assertEqual(log.count("pool app backend app2: down -> up (active check: GET /healthz: HTTP 200"), 1, log)
        self.assertNotIn("backend app1: ", log)

    def test_backend_that_accepts_but_never_answers_is_down_by_timeout(self):
        silent = self.backend(fb.never_answer, name="silent")
        live = self.backend(name="live")
        lbd = self.proxy([silent, live], health_check=CHECK)
        detect = wait_for_state(lbd, "silent", "down", 10)
        print(f"\n  silent backend down {detect:.3f} s after start")
        b = api_backend(lbd, "app", "silent")
        self.assertIn("no answer within 300 ms", b["reason"])
        self.assertGreaterEqual(b["checks"]["timeout"], 1)
        self.assertEqual(b["active"]["history"][-1]["result"], "timeout")
        for i in range(6):
            self.assertEqual(self.client().request("GET", f"/{i}").header("X-Backend"), "live")

    def test_checks_use_their_own_connections_and_the_configured_request(self):
        seen = []

        def handler(ex, req):
            seen.append(req)
            return fb.echo(ex, req)
        backend = self.backend(handler, name="b")
        self.proxy([backend], health_check=dict(CHECK, path="/ready?probe=1", host="app.internal"))
        self.assertTrue(wait_until(lambda: len(seen) >= 2, 5))
        check = seen[0]
        self.assertEqual((check.method, check.target), ("GET", "/ready?probe=1"))
        self.assertEqual(check.header("Host"), "app.internal")
        self.assertEqual(check.header("Connection"), "close")
        self.assertGreaterEqual(backend.connections, 2, "checks share a connection")

    def test_expect_status_list_and_malformed_response(self):
        teapot = self.backend(fb.respond(418), name="teapot")
        garbage = self.backend(fb.invalid_response, name="garbage")
        lbd = self.proxy([teapot, garbage], health_check=dict(CHECK, expect_status=["200-299", 418]))
        wait_for_state(lbd, "garbage", "down", 10)
        self.assertIn("malformed response", api_backend(lbd, "app", "garbage")["reason"])
        time.sleep(INTERVAL * 3)
        teapot_state = api_backend(lbd, "app", "teapot")
        self.assertEqual(teapot_state["state"], "up", teapot_state)
        self.assertGreaterEqual(teapot_state["checks"]["success"], 2)

    def test_checks_follow_reloads(self):
        apps = [self.demo("app1"), self.demo("app2")]
        apps[1].set_healthy(False)
        lbd = self.proxy(apps)  # no checks yet: up until passive checks say otherwise
        time.sleep(INTERVAL * 2)
        self.assertEqual(api_backend(lbd, "app", "app2")["state"], "up")
        self.assertIsNone(api_backend(lbd, "app", "app2")["active"])

        lbd.cfg["pools"][0]["health_check"] = CHECK
        reload_config(lbd)
        wait_for_state(lbd, "app2", "down", 5)
        self.assertEqual(api_backend(lbd, "app", "app1")["state"], "up")

        # A third backend joins; the carried-over ones keep state and history.
        app3 = self.demo("app3")
        history_before = len(api_backend(lbd, "app", "app1")["active"]["history"])
        lbd.cfg["pools"][0]["backends"].append({"name": "app3", "address": app3.address})
        reload_config(lbd)
        self.assertEqual(api_backend(lbd, "app", "app2")["state"], "down")
        self.assertGreaterEqual(len(api_backend(lbd, "app", "app1")["active"]["history"]), history_before)
        self.assertTrue(fully_up(lbd, {"app3"}))

        del lbd.cfg["pools"][0]["health_check"]
        reload_config(lbd)
        wait_for_state(lbd, "app2", "up", 5)
        self.assertEqual(lbd.stderr().count(
            "pool app backend app2: down -> up (active check: checks removed by a reload)"), 1, lbd.stderr())


if __name__ == "__main__":
    unittest.main()
