"""A real Prometheus (Debian's prometheus package) scrapes a real lbd every
second; the test reads back through Prometheus' HTTP API what it recorded:
lbd_backend_up for every backend (and its fall when one goes away), the
request counters and their rate, the alert rules of conf/prometheus loaded
and evaluating, and every query of the Grafana dashboard answered."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

from lbd_harness import LbdTestCase, SOURCE_DIR, free_port, to_yaml
from httpwire import HttpClient

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
WAIT = 30.0  # every wait on Prometheus is bounded by this
CONF = os.path.join(SOURCE_DIR, "conf")


class Prometheus:
    def __init__(self, workdir, lbd_admin_port):
        self.port = free_port()
        self.dir = workdir
        self.config_path = os.path.join(workdir, "prometheus.yml")
        cfg = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [os.path.join(CONF, "prometheus", "alerts.yml")],
            "scrape_configs": [{
                "job_name": "lbd",
                "static_configs": [{"targets": [f"127.0.0.1:{lbd_admin_port}"]}],
            }],
        }
        with open(self.config_path, "w") as f:
            f.write(to_yaml(cfg) + "\n")
        self.log_path = os.path.join(workdir, "prometheus.log")
        self.proc = None

    def start(self):
        if not os.path.exists(PROMETHEUS):
            raise AssertionError("prometheus is not installed: run tools/bootstrap (Debian package prometheus)")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([
                PROMETHEUS, f"--config.file={self.config_path}",
                f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ], stdout=log, stderr=subprocess.STDOUT)
        self.wait_for(lambda: self._get("/-/ready") is not None, "Prometheus ready")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-3000:]

    def _get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.read()
        except OSError:
            return None

    def api(self, path, **params):
        body = self._get(f"/api/v1/{path}?{urllib.parse.urlencode(params)}")
        if body is None:
            raise AssertionError(f"Prometheus API {path} {params} failed:\n{self.log()}")
        doc = json.loads(body)
        if doc["status"] != "success":
            raise AssertionError(f"Prometheus API {path} {params}: {doc}")
        return doc["data"]

    def query(self, expr):
        """Instant vector as {frozenset(labels): value}."""
        data = self.api("query", query=expr)
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in data["result"]}

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited {self.proc.returncode}:\n{self.log()}")
            try:
                if predicate():
                    return
            except (OSError, KeyError, ValueError):
                pass
            time.sleep(0.25)
        raise AssertionError(f"not seen within {WAIT}s: {what}\nprometheus log:\n{self.log()}")


def value_of(vector, **labels):
    for key, v in vector.items():
        if all((k, val) in key for k, val in labels.items()):
            return v
    return None


def only_value(vector):
    """The value of a one-element vector; None if empty."""
    if not vector:
        return None
    if len(vector) != 1:
        raise AssertionError(f"expected one series, got {vector}")
    return next(iter(vector.values()))


class PrometheusEndToEndTest(LbdTestCase):
    def test_prometheus_records_backend_up_and_request_rate(self):
        b1, b2 = self.backend(name="b1"), self.backend(name="b2")
        lbd = self.proxy([b1, b2], passive={"max_fails": 1, "fail_timeout": "60s"})
        prom = Prometheus(tempfile.mkdtemp(prefix="prom-", dir=self.tmp.name), lbd.admin_port)
        self.addCleanup(prom.stop)
        prom.start()

        prom.wait_for(lambda: len(prom.query('lbd_backend_up{job="lbd"} == 1')) == 2,
                      "lbd_backend_up == 1 for b1 and b2")
        up = prom.query('up{job="lbd"}')
        self.assertEqual(only_value(up), 1.0)

        # Traffic for about 4 s, a bounded number of requests.
        sent = 0
        client = HttpClient(lbd.port)
        self.addCleanup(client.close)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and sent < 2000:
            self.assertEqual(client.request("GET", f"/r/{sent}").status, 200)
            sent += 1
            time.sleep(0.01)
        prom.wait_for(lambda: (only_value(prom.query('sum(rate(lbd_requests_total{job="lbd", code="2xx"}[3s]))'))
                               or 0) > 0, "a non-zero request rate")
        # Once a scrape after the traffic is in, the recorded counters are
        # exact. One scrape is not one instant: the last request may be
        # counted for its listener and, a moment later in the same loop turn,
        # for its backend, with a scrape reading between the two (seen once
        # under TSan: 363 and 362). So each counter is waited for; one that
        # lost a request never gets there and fails the wait.
        prom.wait_for(lambda: value_of(prom.query('lbd_requests_total{job="lbd", code="2xx"}'), listener="web") == sent,
                      f"lbd_requests_total{{code=2xx}} == {sent}")
        backends_query = 'sum by (backend) (lbd_backend_requests_total{job="lbd", code="2xx"})'
        prom.wait_for(lambda: sum(prom.query(backends_query).values()) == sent,
                      f"lbd_backend_requests_total{{code=2xx}} summed over backends == {sent}")
        per_backend = prom.query(backends_query)
        self.assertEqual(abs(value_of(per_backend, backend="b1") - value_of(per_backend, backend="b2")), sent % 2)
        peak = prom.query('max_over_time(sum(rate(lbd_requests_total{job="lbd"}[2s]))[30s:1s])')
        rate = only_value(peak)
        print(f"\n{sent} requests in ~4 s; Prometheus' peak 2 s rate: {rate:.1f} req/s")
        self.assertGreater(rate, 5)
        self.assertLess(rate, 1000)

        # b2 goes away: lbd ejects it on its first refused connection, and
        # Prometheus records lbd_backend_up falling to 0.
        b2.stop()
        for i in range(4):
            self.assertEqual(client.request("GET", f"/after/{i}").status, 200)
        prom.wait_for(lambda: value_of(prom.query('lbd_backend_up{job="lbd"}'), backend="b2") == 0,
                      "lbd_backend_up{backend=b2} == 0")
        self.assertEqual(value_of(prom.query('lbd_backend_up{job="lbd"}'), backend="b1"), 1)
        history = prom.api("query", query='lbd_backend_up{job="lbd", backend="b2"}[1m]')["result"][0]["values"]
        self.assertEqual({float(v) for _, v in history}, {0.0, 1.0}, "b2's recorded history goes from 1 to 0")

        # The shipped alert rules load and evaluate against real series.
        rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
        self.assertEqual({r["name"] for r in rules},
                         {"LbdBackendDown", "LbdAllBackendsDown", "LbdHighErrorRate", "LbdHighLatency",
                          "LbdInstanceDown", "LbdConfigReloadFailed", "LbdQueueRejecting", "LbdSlowTokenStream"})
        prom.wait_for(lambda: all(r["health"] == "ok" for g in prom.api("rules")["groups"] for r in g["rules"])
                      and any(a["labels"].get("backend") == "b2"
                              for a in prom.api("alerts")["alerts"] if a["labels"]["alertname"] == "LbdBackendDown"),
                      "rules healthy and LbdBackendDown pending for b2")

        # Every query of the Grafana dashboard parses and most return data.
        with open(os.path.join(CONF, "grafana", "lbd.json")) as f:
            dashboard = json.load(f)
        empty = []
        for panel in dashboard["panels"]:
            for t in panel.get("targets", []):
                expr = (t["expr"].replace("$__rate_interval", "4s").replace("$instance", ".*")
                        .replace("$listener", ".*").replace("$pool", ".*"))
                if not prom.api("query", query=expr)["result"]:
                    empty.append(panel["title"])
        for must_have_data in ("Request rate by listener", "Backend up", "Backend state",
                               "Latency by listener (p50 / p95 / p99)", "Backend request rate"):
            self.assertNotIn(must_have_data, empty)


if __name__ == "__main__":
    unittest.main()
