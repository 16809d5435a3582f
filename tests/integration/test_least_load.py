"""strategy: least_load and load_report (issue 16): traffic moves away from a
backend whose reported load grows and back when it drains, with the load
read from a response header (never forwarded to the client) or polled from
each backend's Prometheus text; lbd_backend_reported_load follows."""
import collections
import json
import unittest

from httpwire import HttpClient, get, wait_until
from lbd_harness import LbdTestCase, config, pool
from prom_text import scrape
import fake_backend as fb

INTERVAL = 0.2  # load_report.interval: reports older than 3 x this fade


def sequential(port, count):
    """Backends answering `count` requests one after another; every answer
    must be 200 and carry no load header."""
    client = HttpClient(port, timeout=5.0)
    counts = collections.Counter()
    try:
        for _ in range(count):
            r = client.request("GET", "/work")
            assert r.status == 200, r
            assert r.header("X-Backend-Load") is None, "the load header reached the client"
            counts[r.header("X-Backend")] += 1
    finally:
        client.close()
    return counts


class LeastLoadTest(LbdTestCase):
    def start(self, backends, **load_report):
        cfg = config([pool("app", backends, strategy="least_load",
                           load_report=dict(interval=f"{int(INTERVAL * 1000)}ms", **load_report))])
        return self.start_lbd(cfg)

    def reported(self, backend):
        return scrape(self.lbd.admin_port).value("lbd_backend_reported_load", pool="app", backend=backend)

    def test_header_reports_move_traffic_away_and_back(self):
        load = {"b1": 0, "b2": 0, "b3": 0}

        def reporting(ex, req):
            name = ex.backend.name
            return ex.respond(200, b"ok", headers=[("X-Backend-Load", str(load[name]))])

        backends = [self.backend(reporting, name=n) for n in ("b1", "b2", "b3")]
        lbd = self.start(backends, header="X-Backend-Load")
        even = sequential(lbd.port, 90)
        for name in load:
            self.assertGreater(even[name], 15, even)

        load["b1"] = 50  # b1's queue grows: its next answer says so
        wait_until(lambda: sequential(lbd.port, 1)["b1"], 5)
        self.assertEqual(self.reported("b1"), 50)
        # Header mode learns only from answers: once b1's report fades
        # (3 intervals) it gets one request, which reports 50 again.
        busy = sequential(lbd.port, 60)
        self.assertLessEqual(busy["b1"], 3, busy)

        load["b1"] = 0  # drained: its report fades after 3 intervals, then it answers 0
        wait_until(lambda: sequential(lbd.port, 1)["b1"], 5)
        self.assertEqual(self.reported("b1"), 0)
        back = sequential(lbd.port, 90)
        self.assertGreater(back["b1"], 15, back)

    def test_metric_reports_move_traffic_away_and_back(self):
        queue = {"b1": 0, "b2": 0, "b3": 0}
        polls = collections.Counter()

        def metrics(ex, req):
            name = ex.backend.name
            polls[name] += 1
            text = ("# TYPE queue_depth gauge\n"
                    f'queue_depth{{model="a"}} {queue[name]}\n'
                    f'queue_depth{{model="b"}} {queue[name] / 2}\n'
                    "queue_depth_total 999\n")
            return ex.respond(200, text.encode(), headers=[("Content-Type", "text/plain")])

        handler = fb.when(lambda req: req.target == "/stats", metrics)
        backends = [self.backend(handler, name=n) for n in ("b1", "b2", "b3")]
        lbd = self.start(backends, metric="queue_depth", path="/stats")
        self.assertTrue(wait_until(lambda: polls["b1"] >= 2, 3), polls)
        even = sequential(lbd.port, 90)
        for name in queue:
            self.assertGreater(even[name], 15, even)

        queue["b1"] = 40  # reported as 40 + 20: the label sets add up
        self.assertTrue(wait_until(lambda: self.reported("b1") == 60, 3))
        busy = sequential(lbd.port, 60)
        self.assertEqual(busy["b1"], 0, busy)

        queue["b1"] = 0
        self.assertTrue(wait_until(lambda: self.reported("b1") == 0, 3))
        back = sequential(lbd.port, 90)
        self.assertGreater(back["b1"], 15, back)
        # The poll interval holds: about 1 / INTERVAL polls a second, not a flood.
        self.assertLess(polls["b1"], 60, polls)

    def test_pools_api_and_status_page_show_the_report(self):
        def reporting(ex, req):
            return ex.respond(200, b"ok", headers=[("X-Backend-Load", "7")])

        lbd = self.start([self.backend(reporting, name="b1")], header="X-Backend-Load")
        sequential(lbd.port, 1)
        pools = json.loads(get(lbd.admin_port, "/api/pools", host=f"127.0.0.1:{lbd.admin_port}").body)
        app = pools["pools"][0]
        self.assertEqual(app["backends"][0]["reported_load"], 7)
        page = get(lbd.admin_port, "/status", host=f"127.0.0.1:{lbd.admin_port}").body.decode()
        self.assertIn('<td class="reported-load">7</td>', page)


if __name__ == "__main__":
    unittest.main()
