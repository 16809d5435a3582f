"""Per-client-IP rate limiting (listener rate_limit, DESIGN.md §1): a client
over its rate gets 429 with Retry-After and never reaches a backend; other
clients are not affected; the limit holds across workers and follows reloads.

Rates are low (one request every few seconds) so that a slow machine, or a
sanitizer build, cannot send the requests of one test so slowly that the
schedule moves on in between."""
import time
import unittest

from httpwire import wait_until
from lbd_harness import LbdTestCase, config, pool, reload_config
from prom_text import scrape


def limited(cfg, rps, burst, workers=1):
    cfg["workers"] = workers
    cfg["listeners"][0]["rate_limit"] = {"rps": rps, "burst": burst}
    return cfg


class RateLimitTest(LbdTestCase):
    def statuses(self, n, source=None):
        """n requests, each on a new connection, as one client."""
        return [self.client(source=source).request("GET", "/", host="x").status for _ in range(n)]

    def test_over_the_rate_gets_429_and_never_reaches_a_backend(self):
        app = self.backend(name="app")
        self.start_lbd(limited(config([pool("app", [app])]), rps=0.2, burst=2))

        self.assertEqual(self.statuses(6), [200, 200, 200, 429, 429, 429])
        self.assertEqual(app.request_count, 3)

        refused = self.client().request("GET", "/", host="x")
        self.assertEqual(refused.status, 429)
        self.assertEqual(refused.body, b"429 Too Many Requests\n")
        # One request every 5 s: the next is due within 5 s, said in whole seconds.
        self.assertIn(int(refused.header("Retry-After")), range(1, 6))
        self.assertEqual(refused.header("Connection"), "close")

        metrics = scrape(self.lbd.admin_port)
        self.assertEqual(metrics.value("lbd_rate_limited_total", listener="web"), 4)
        self.assertEqual(metrics.value("lbd_requests_total", listener="web", code="4xx"), 4)
        # Access lines are written when the worker's loop turn ends, which
        # can be just after the client has its answer.
        self.assertTrue(wait_until(lambda: len(self.lbd.access_log()) >= 7, 3), self.lbd.stdout())
        self.assertEqual([e["status"] for e in self.lbd.access_log()], [200, 200, 200, 429, 429, 429, 429])
        # At log.level info, a flood of refusals does not flood the error log.
        self.assertNotIn("over the listener's rate_limit", self.lbd.stderr())

    def test_each_client_address_has_its_own_limit(self):
        app = self.backend(name="app")
        self.start_lbd(limited(config([pool("app", [app])]), rps=0.2, burst=0))
        self.assertEqual(self.statuses(3, source="127.0.0.1"), [200, 429, 429])
        self.assertEqual(self.statuses(3, source="127.0.0.2"), [200, 429, 429])
        self.assertEqual(self.statuses(1, source="127.0.0.3"), [200])
        self.assertEqual(app.request_count, 3)

    def test_a_refused_keep_alive_connection_is_closed(self):
        self.start_lbd(limited(config([pool("app", [self.backend()])]), rps=0.2, burst=1))
        client = self.client()
        self.assertEqual([client.request("GET", "/", host="x").status for _ in range(3)], [200, 200, 429])
        self.assertClosedPromptly(client)

    def test_waiting_as_told_is_admitted(self):
        self.start_lbd(limited(config([pool("app", [self.backend()])]), rps=0.5, burst=0))
        self.assertEqual(self.statuses(1), [200])
        refused = self.client().request("GET", "/", host="x")
        self.assertEqual(refused.status, 429)
        time.sleep(int(refused.header("Retry-After")))
        self.assertEqual(self.statuses(1), [200])

    def test_the_limit_holds_across_workers(self):
        app = self.backend(name="app")
        self.start_lbd(limited(config([pool("app", [app])]), rps=0.2, burst=4, workers=2))
        self.assertEqual(self.statuses(20).count(200), 5)
        self.assertEqual(app.request_count, 5)
        # SO_REUSEPORT spread the connections over both workers (request ids
        # are "<process>-<worker>-<sequence>"), so a per-worker limit would
        # have admitted more.
        workers = {e["request_id"].split("-")[1] for e in self.lbd.access_log()}
        self.assertEqual(workers, {"0", "1"})

    def test_reload_turns_the_limit_on_changes_it_and_turns_it_off(self):
        cfg = config([pool("app", [self.backend()])])
        self.start_lbd(cfg)
        self.assertEqual(self.statuses(5), [200] * 5)

        limited(self.lbd.cfg, rps=0.2, burst=1)
        reload_config(self.lbd)
        self.assertEqual(self.statuses(3), [200, 200, 429])

        self.lbd.cfg["listeners"][0]["rate_limit"]["burst"] = 3
        reload_config(self.lbd)  # a new limit starts every client afresh
        self.assertEqual(self.statuses(5), [200, 200, 200, 200, 429])

        del self.lbd.cfg["listeners"][0]["rate_limit"]
        reload_config(self.lbd)
        self.assertEqual(self.statuses(5), [200] * 5)

    def test_a_reload_that_keeps_the_limit_keeps_each_client_s_place(self):
        self.start_lbd(limited(config([pool("app", [self.backend()])]), rps=0.2, burst=1))
        self.assertEqual(self.statuses(3), [200, 200, 429])
        self.lbd.cfg["pools"][0]["retries"] = 1  # some other change
        reload_config(self.lbd)
        self.assertEqual(self.statuses(1), [429])


if __name__ == "__main__":
    unittest.main()
