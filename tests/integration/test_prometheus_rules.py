"""The Prometheus and Grafana pieces in conf/ (issue 6 §2, §3): promtool
accepts the scrape config and the alert rules and passes their unit tests,
and the Grafana dashboard is valid JSON whose PromQL names only metrics a
real lbd exports."""
import json
import os
import re
import subprocess
import unittest

import yaml  # Debian python3-yaml (tools/bootstrap)

from lbd_harness import LbdTestCase, SOURCE_DIR, config, pool
from prom_text import scrape

CONF = os.path.join(SOURCE_DIR, "conf")
PROMETHEUS_DIR = os.path.join(CONF, "prometheus")
DASHBOARD = os.path.join(CONF, "grafana", "lbd.json")
REQUIRED_ALERTS = {"LbdBackendDown", "LbdAllBackendsDown", "LbdHighErrorRate", "LbdHighLatency",
                   "LbdInstanceDown", "LbdConfigReloadFailed", "LbdQueueRejecting", "LbdSlowTokenStream"}
# Metrics a PromQL expression may name besides lbd's own: Prometheus' `up`.
PROMETHEUS_METRICS = {"up"}
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "rate", "irate", "increase", "histogram_quantile", "vector", "label_values",
    "bool", "offset",
}


def promtool(*args):
    r = subprocess.run(["promtool", *args], capture_output=True, timeout=60, cwd=PROMETHEUS_DIR)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def metric_names_in(expr):
    """Identifiers of a PromQL expression that name metrics: everything but
    strings, label names inside {} and by/on (...) lists, functions,
    keywords, durations and Grafana variables."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)           # strings
    expr = re.sub(r"\$\{?\w+\}?", "", expr)                   # $variables
    expr = re.sub(r"label_values\(([^,()]*),\s*\w+\)", r"\1", expr)  # Grafana: (query, label)
    expr = re.sub(r"\{[^}]*\}", "", expr)                     # label matchers
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)                    # range selectors
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr))
    return names - PROMQL_WORDS


def dashboard_exprs(dashboard):
    exprs = []
    for panel in dashboard["panels"]:
        for t in panel.get("targets", []):
            exprs.append((panel["title"], t["expr"]))
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            exprs.append((f"variable {var['name']}", var["query"]["query"]))
    return exprs


def alert_rules():
    with open(os.path.join(PROMETHEUS_DIR, "alerts.yml")) as f:
        doc = yaml.safe_load(f)
    return [rule for group in doc["groups"] for rule in group["rules"]]


def alert_exprs():
    return {rule["alert"]: rule["expr"] for rule in alert_rules()}


class PrometheusConfigTest(unittest.TestCase):
    def test_promtool_checks_the_rules(self):
        rc, out = promtool("check", "rules", "alerts.yml")
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS: 8 rules found", out)

    def test_promtool_unit_tests_of_the_rules_pass(self):
        rc, out = promtool("test", "rules", "alerts_test.yml")
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS", out)

    def test_every_rule_has_a_unit_test(self):
        with open(os.path.join(PROMETHEUS_DIR, "alerts_test.yml")) as f:
            doc = yaml.safe_load(f)
        tested = {t["alertname"] for test in doc["tests"] for t in test["alert_rule_test"]
                  if t.get("exp_alerts")}  # tested firing, not only silent
        self.assertEqual(set(alert_exprs()), tested)
        self.assertLessEqual(REQUIRED_ALERTS, tested)

    def test_promtool_checks_the_scrape_config(self):
        rc, out = promtool("check", "config", "prometheus.yml")
        self.assertEqual(rc, 0, out)

    def test_rules_have_for_durations_and_annotations(self):
        rules = alert_rules()
        self.assertEqual({r["alert"] for r in rules}, REQUIRED_ALERTS)
        for rule in rules:
            name = rule["alert"]
            self.assertRegex(rule.get("for", ""), r"^\d+[smh]$", name)
            self.assertIn(rule["labels"]["severity"], ("critical", "warning"), name)
            self.assertGreater(len(rule["annotations"]["summary"]), 10, name)
            self.assertGreater(len(rule["annotations"]["description"]), 40, name)


class DashboardTest(LbdTestCase):
    def exported_names(self):
        """Sample names of a real scrape of an lbd with traffic."""
        self.proxy([self.backend()])
        self.assertEqual(self.client().request().status, 200)
        return scrape(self.lbd.admin_port).names()

    def test_dashboard_parses_and_names_only_exported_metrics(self):
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        self.assertEqual(dashboard["title"], "lbd")
        self.assertIn("uid", dashboard)
        self.assertIsNone(dashboard.get("id"), "an exported dashboard id would clash on import")
        exported = self.exported_names()
        exprs = dashboard_exprs(dashboard)
        self.assertGreater(len(exprs), 15)
        for where, expr in exprs:
            names = metric_names_in(expr)
            self.assertTrue(names, f"{where}: no metric in {expr!r}")
            self.assertLessEqual(names, exported, f"{where}: {expr!r} names metrics lbd does not export")

    def test_dashboard_covers_what_operators_look_at(self):
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        used = set()
        for _, expr in dashboard_exprs(dashboard):
            used |= metric_names_in(expr)
        for name in ("lbd_requests_total", "lbd_request_duration_seconds_bucket",
                     "lbd_backend_response_seconds_bucket", "lbd_backend_up", "lbd_backend_state",
                     "lbd_backend_active_requests", "lbd_retries_total", "lbd_no_backend_total",
                     "lbd_backend_requests_total", "lbd_pool_queue_length",
                     "lbd_pool_queue_wait_seconds_bucket", "lbd_pool_queue_rejected_total",
                     "lbd_retry_budget_exhausted_total", "lbd_backend_first_byte_seconds_bucket",
                     "lbd_stream_event_gap_seconds_bucket", "lbd_streams_interrupted_total"):
            self.assertIn(name, used)
        quantiles = {float(q) for _, e in dashboard_exprs(dashboard)
                     for q in re.findall(r"histogram_quantile\(([\d.]+)", e)}
        self.assertLessEqual({0.5, 0.95, 0.99}, quantiles)
        datasources = {json.dumps(p.get("datasource")) for p in dashboard["panels"] if p["type"] != "row"}
        self.assertEqual(datasources, {json.dumps({"type": "prometheus", "uid": "${datasource}"})})

    def test_alert_rules_name_only_exported_metrics(self):
        exported = self.exported_names() | PROMETHEUS_METRICS
        exprs = alert_exprs()
        self.assertEqual(set(exprs), REQUIRED_ALERTS)
        for name, expr in exprs.items():
            names = metric_names_in(expr)
            self.assertTrue(names, name)
            self.assertLessEqual(names, exported, f"{name}: {expr!r}")

    def test_metric_name_extraction(self):
        self.assertEqual(metric_names_in(
            'histogram_quantile(0.99, sum by (listener, le) (rate(lbd_x_bucket{a=~"$b", c="d e"}[$__rate_interval])))'),
            {"lbd_x_bucket"})
        self.assertEqual(metric_names_in('lbd_a == 0 unless on (job, pool) lbd_b{state="maint"} == 1'),
                         {"lbd_a", "lbd_b"})
        self.assertEqual(metric_names_in("count(foo == 0) or vector(0)"), {"foo"})


if __name__ == "__main__":
    unittest.main()
