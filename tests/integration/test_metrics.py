"""GET /metrics on the admin listener (issue 6 §1): a real scrape passes
promtool's checks, counters move with real traffic, and lbd_backend_up
follows a backend going down and coming back."""
import signal
import socket
import statistics
import subprocess
import time
import unittest

from lbd_harness import LBD_BIN, LbdTestCase, config, pool, to_yaml
from httpwire import wait_until
from prom_text import scrape
import fake_backend as fb

DESIGN_METRICS = {
    "lbd_backend_up": "gauge", "lbd_backend_state": "gauge",
    "lbd_backend_requests_total": "counter", "lbd_backend_response_seconds": "histogram",
    "lbd_backend_active_requests": "gauge", "lbd_backend_health_checks_total": "counter",
    "lbd_requests_total": "counter",
    "lbd_request_duration_seconds": "histogram", "lbd_connections_active": "gauge",
    "lbd_connections_total": "counter", "lbd_tunnels_active": "gauge", "lbd_tunnels_total": "counter",
    "lbd_http2_streams_total": "counter", "lbd_http2_streams_active": "gauge", "lbd_http2_goaway_total": "counter",
    "lbd_rate_limited_total": "counter", "lbd_route_requests_total": "counter",
    "lbd_retries_total": "counter",
    "lbd_no_backend_total": "counter", "lbd_config_reloads_total": "counter",
    "lbd_config_last_reload_successful": "gauge", "lbd_build_info": "gauge",
    "lbd_backend_max_requests": "gauge", "lbd_pool_queue_length": "gauge",
    "lbd_pool_queue_wait_seconds": "histogram", "lbd_pool_queue_rejected_total": "counter",
    "lbd_retry_budget_exhausted_total": "counter",
    "lbd_backend_first_byte_seconds": "histogram", "lbd_streams_interrupted_total": "counter",
    "lbd_streams_ended_total": "counter",
    "lbd_stream_event_gap_seconds": "histogram", "lbd_sse_heartbeats_total": "counter",
    "lbd_backend_reported_load": "gauge",
}


def restart_on_port(backend, name):
    """A fresh echo backend listening where `backend` (stopped) listened."""
    b = fb.FakeBackend(name)
    b.listener.close()
    b.listener = socket.create_server(("127.0.0.1", backend.port))
    b.listener.settimeout(0.2)
    b.port, b.address = backend.port, backend.address
    return b.start()


class MetricsTest(LbdTestCase):
    def test_real_scrape_passes_promtool_check_metrics(self):
        self.proxy(self.backends(2))
        for i in range(5):
            self.assertEqual(self.client().request("GET", f"/{i}").status, 200)
        s = scrape(self.lbd.admin_port)
        self.assertTrue(s.content_type.startswith("text/plain; version=0.0.4"), s.content_type)
        check = subprocess.run(["promtool", "check", "metrics"], input=s.text.encode(),
                               capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout.decode() + check.stderr.decode())
        self.assertEqual(check.stdout.decode().strip(), "", "promtool lint findings")
        self.assertEqual(s.types, DESIGN_METRICS)

    def test_counters_move_with_real_traffic(self):
        ok = self.backend(name="ok")
        missing = self.backend(fb.respond(404, b"no such page"), name="missing")
        cfg = config([pool("app", [ok]), pool("gone", [missing])],
                     routes=[{"path_prefix": "/gone/", "pool": "gone"}, {"pool": "app"}])
        self.start_lbd(cfg)
        before = scrape(self.lbd.admin_port)
        self.assertEqual(before.value("lbd_requests_total", listener="web", code="2xx"), 0)

        client = self.client()  # one keep-alive connection...
        for i in range(7):
            self.assertEqual(client.request("GET", f"/{i}").status, 200)
        for i in range(3):  # ...and three more
            self.assertEqual(self.client().request("GET", f"/gone/{i}").status, 404)
        client.close()

        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_requests_total", listener="web", code="2xx"), 7)
        self.assertEqual(s.value("lbd_requests_total", listener="web", code="4xx"), 3)
        self.assertEqual(s.value("lbd_requests_total", listener="web", code="5xx"), 0)
        self.assertEqual(s.value("lbd_request_duration_seconds_count", listener="web"), 10)
        self.assertEqual(s.value("lbd_request_duration_seconds_bucket", listener="web", le="+Inf"), 10)
        self.assertGreater(s.value("lbd_request_duration_seconds_sum", listener="web"), 0)
        self.assertEqual(s.value("lbd_connections_total", listener="web"), 4)
        self.assertEqual(s.value("lbd_backend_requests_total", pool="app", backend="ok", code="2xx"), 7)
        self.assertEqual(s.value("lbd_backend_requests_total", pool="gone", backend="missing", code="4xx"), 3)
        self.assertEqual(s.value("lbd_backend_response_seconds_count", pool="app", backend="ok"), 7)
        self.assertEqual(s.value("lbd_backend_active_requests", pool="app", backend="ok"), 0)
        self.assertEqual(s.value("lbd_backend_up", pool="app", backend="ok"), 1)
        self.assertEqual(s.value("lbd_backend_state", pool="app", backend="ok", state="up"), 1)
        # Histogram buckets are cumulative and end at the sample count.
        buckets = sorted((float(ls["le"]), v) for ls, v in s.series("lbd_request_duration_seconds_bucket"))
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        self.assertEqual(buckets[0][0], 0.0005)
        self.assertEqual(buckets[-2][0], 30.0)

    def test_answers_lbd_gives_itself_count_for_the_listener_only(self):
        backend = self.backend()
        cfg = config([pool("app", [backend])], routes=[{"host": "known.example", "pool": "app"}])
        self.start_lbd(cfg)
        self.assertEqual(self.client().request("GET", "/", host="other.example").status, 404)
        client = self.client()
        client.send(b"GET / HTTP/1.1\r\nHost: known.example\r\nBad Header: x\r\n\r\n")
        self.assertEqual(client.read_response().status, 400)
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_requests_total", listener="web", code="4xx"), 2)
        self.assertEqual(s.sum("lbd_backend_requests_total"), 0)
        self.assertEqual(backend.request_count, 0)

    def test_in_flight_requests_and_open_connections_are_gauges(self):
        slow = self.backend(fb.delayed(1.5), name="slow")
        self.proxy([slow])
        client = self.client()
        client.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(wait_until(lambda: slow.heads == 1, 5))
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_backend_active_requests", pool="app", backend="slow"), 1)
        self.assertEqual(s.value("lbd_connections_active", listener="web"), 1)
        self.assertEqual(client.read_response().status, 200)
        client.close()
        self.assertTrue(wait_until(
            lambda: scrape(self.lbd.admin_port).value("lbd_connections_active", listener="web") == 0, 5))
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_backend_active_requests", pool="app", backend="slow"), 0)
        # A 1.5 s response lands in the (1 s, 2.5 s] bucket.
        self.assertEqual(s.value("lbd_backend_response_seconds_bucket", pool="app", backend="slow", le="1"), 0)
        self.assertEqual(s.value("lbd_backend_response_seconds_bucket", pool="app", backend="slow", le="2.5"), 1)

    def test_active_checks_count_by_result_and_take_a_failing_backend_down(self):
        good = self.backend(name="good")
        sick = self.backend(fb.respond(503, b"sick"), name="sick")
        check = {"path": "/healthz", "interval": "200ms", "timeout": "150ms", "rise": 1, "fall": 1}
        self.start_lbd(config([pool("app", [good, sick], health_check=check)]))

        def checked():
            s = scrape(self.lbd.admin_port)
            return (s.value("lbd_backend_health_checks_total", pool="app", backend="good", result="success") >= 2
                    and s.value("lbd_backend_health_checks_total", pool="app", backend="sick", result="failure") >= 2)
        self.assertTrue(wait_until(checked, 10))
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_backend_health_checks_total", pool="app", backend="good", result="failure"), 0)
        self.assertEqual(s.value("lbd_backend_health_checks_total", pool="app", backend="sick", result="success"), 0)
        self.assertEqual(s.value("lbd_backend_up", pool="app", backend="sick"), 0)
        self.assertEqual(s.value("lbd_backend_state", pool="app", backend="sick", state="down"), 1)
        self.assertEqual(s.value("lbd_backend_up", pool="app", backend="good"), 1)

    def test_backend_up_follows_a_backend_going_down_and_up(self):
        steady = self.backend(name="steady")
        flaky = self.backend(name="flaky")
        self.proxy([steady, flaky], passive={"max_fails": 1, "fail_timeout": "1s"})
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_backend_up", pool="app", backend="flaky"), 1)

        flaky.stop()  # connections now refused
        for i in range(4):  # round robin reaches flaky, fails, retries on steady
            self.assertEqual(self.client().request("GET", f"/{i}").status, 200)
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_backend_up", pool="app", backend="flaky"), 0)
        self.assertEqual(s.value("lbd_backend_state", pool="app", backend="flaky", state="ejected"), 1)
        self.assertEqual(s.value("lbd_backend_state", pool="app", backend="flaky", state="up"), 0)
        self.assertEqual(s.value("lbd_backend_up", pool="app", backend="steady"), 1)
        self.assertGreaterEqual(s.value("lbd_backend_requests_total", pool="app", backend="flaky", code="5xx"), 1)
        self.assertGreaterEqual(s.value("lbd_retries_total", pool="app"), 1)
        self.assertEqual(s.value("lbd_requests_total", listener="web", code="5xx"), 0)

        back = restart_on_port(flaky, "flaky")
        self.addCleanup(back.stop)
        self.assertTrue(wait_until(
            lambda: scrape(self.lbd.admin_port).value("lbd_backend_up", pool="app", backend="flaky") == 1, 5),
            "lbd_backend_up stayed 0 after fail_timeout")
        for i in range(4):
            self.assertEqual(self.client().request("GET", f"/again/{i}").status, 200)
        self.assertGreater(back.request_count, 0)
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_backend_state", pool="app", backend="flaky", state="up"), 1)
        self.assertGreaterEqual(s.value("lbd_backend_requests_total", pool="app", backend="flaky", code="2xx"), 1)

    def test_no_backend_counts_503s(self):
        # Two backends (a one-backend pool is never passively ejected), both
        # refusing; max_ejected_percent 100 lets both out.
        self.proxy([f"127.0.0.1:{fb.closed_port()}", f"127.0.0.1:{fb.closed_port()}"], retries=0,
                   passive={"max_fails": 1, "fail_timeout": "30s", "max_ejected_percent": 100})
        for _ in range(2):
            self.assertEqual(self.client().request().status, 502)  # the failures that eject them
        for _ in range(3):
            self.assertEqual(self.client().request().status, 503)
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_no_backend_total", pool="app"), 3)
        self.assertEqual(s.value("lbd_retries_total", pool="app"), 0)
        self.assertEqual(s.value("lbd_requests_total", listener="web", code="5xx"), 5)
        self.assertEqual(s.value("lbd_backend_requests_total", pool="app", backend="addr1", code="5xx"), 1)

    def test_reloads_are_counted_by_result(self):
        self.proxy([self.backend()])
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_config_last_reload_successful"), 1)
        version = subprocess.run([LBD_BIN, "--version"], capture_output=True, text=True, timeout=10).stdout.split()[-1]
        self.assertEqual(s.series("lbd_build_info"), [({"version": version}, 1.0)])

        self.lbd.signal(signal.SIGHUP)  # the same, valid file
        self.assertTrue(wait_until(lambda: scrape(self.lbd.admin_port).value(
            "lbd_config_reloads_total", result="success") == 1, 5))

        with open(self.lbd.config_path, "a") as f:
            f.write("no_such_key: 1\n")
        self.lbd.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: scrape(self.lbd.admin_port).value(
            "lbd_config_reloads_total", result="failure") == 1, 5))
        s = scrape(self.lbd.admin_port)
        self.assertEqual(s.value("lbd_config_last_reload_successful"), 0)
        self.assertEqual(s.value("lbd_config_reloads_total", result="success"), 1)

        with open(self.lbd.config_path, "w") as f:
            f.write(to_yaml(self.lbd.cfg) + "\n")
        self.lbd.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: scrape(self.lbd.admin_port).value(
            "lbd_config_last_reload_successful") == 1, 5))

    def test_scrape_of_100_backends_is_fast(self):
        addresses = [f"127.0.0.1:{20000 + i}" for i in range(100)]
        self.proxy(addresses)
        s = scrape(self.lbd.admin_port)
        self.assertEqual(len(s.series("lbd_backend_up")), 100)
        self.assertEqual(len(s.series("lbd_backend_state")), 500)
        times = [scrape(self.lbd.admin_port).seconds * 1000 for _ in range(20)]
        median = statistics.median(times)
        print(f"\n/metrics with 100 backends: {len(s.text)} bytes, median {median:.2f} ms over 20 scrapes")
        # The target is well under 10 ms; the bound is generous for loaded CI and ASan.
        self.assertLess(median, 100)


if __name__ == "__main__":
    unittest.main()
