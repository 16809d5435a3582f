"""GET /status (issue 6 §4), rendered by a real browser: headless Chromium
loads the page from lbd's admin listener, the test reads the DOM it built
for every pool and backend and its state, and keeps a screenshot.

Chromium is Debian's `chromium` package (tools/bootstrap installs it); a
machine without it fails this test rather than skip it. The screenshot goes
to $LBD_ARTIFACT_DIR (ctest sets build/<preset>/artifacts)."""
import html.parser
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from lbd_harness import LbdTestCase, SOURCE_DIR, config, pool
from httpwire import get
import fake_backend as fb

ARTIFACT_DIR = os.environ.get("LBD_ARTIFACT_DIR") or os.path.join(SOURCE_DIR, "build", "artifacts")
CHROMIUM_TIMEOUT = 60


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("chromium is not installed: run tools/bootstrap (Debian package chromium)")


def run_chromium(url, *args):
    with tempfile.TemporaryDirectory(prefix="lbd-chromium-") as profile:
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args, url]
        r = subprocess.run(cmd, capture_output=True, timeout=CHROMIUM_TIMEOUT)
    if r.returncode != 0:
        raise AssertionError(f"chromium exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
    return r.stdout.decode(errors="replace")


class Dom(html.parser.HTMLParser):
    """Rows of the rendered page: backend rows with their cells' text."""

    def __init__(self):
        super().__init__()
        self.backends = {}   # (pool, backend) -> {"state": ..., "cells": [...]}
        self.pools = {}      # pool -> heading text
        self.title = ""
        self._pool = None
        self._row = None
        self._cell = None
        self._in_h2 = False
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-pool" in a:
            self._pool = a["data-pool"]
            self.pools[self._pool] = ""
        elif tag == "h2" and self._pool:
            self._in_h2 = True
        elif tag == "tr" and "data-backend" in a:
            self._row = {"state": a.get("data-state"), "cells": []}
            self.backends[(self._pool, a["data-backend"])] = self._row
        elif tag == "td" and self._row is not None:
            self._cell = ""
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"].append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "h2":
            self._in_h2 = False
        elif tag == "section":
            self._pool = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._in_h2 and self._pool:
            self.pools[self._pool] += data
        if self._in_title:
            self.title += data


class StatusPageTest(LbdTestCase):
    def test_chromium_renders_every_backend_and_its_state(self):
        app1, app2 = self.backend(name="app1"), self.backend(name="app2")
        dead = fb.closed_port()
        api = self.backend(fb.respond(500, b"boom"), name="api1")
        cfg = config([
            pool("app", [app1, app2, f"127.0.0.1:{dead}"], passive={"max_fails": 1, "fail_timeout": "60s"}),
            pool("api", [api], strategy="least_connections"),
        ], routes=[{"path_prefix": "/api/", "pool": "api"}, {"pool": "app"}])
        cfg["pools"][0]["backends"][2]["name"] = "app3"
        cfg["pools"][0]["backends"][0]["weight"] = 5
        self.start_lbd(cfg)
        for i in range(6):  # app3 refuses: ejected after its first failure, retried elsewhere
            self.assertEqual(self.client().request("GET", f"/{i}").status, 200)
        for i in range(2):
            self.assertEqual(self.client().request("GET", f"/api/{i}").status, 500)

        url = f"http://127.0.0.1:{self.lbd.admin_port}/status"
        raw = get(self.lbd.admin_port, "/status", host=f"127.0.0.1:{self.lbd.admin_port}")
        self.assertEqual(raw.status, 200)
        self.assertEqual(raw.header("Content-Type"), "text/html; charset=utf-8")

        dom = Dom()
        dom.feed(run_chromium(url, "--dump-dom"))
        self.assertEqual(set(dom.pools), {"app", "api"})
        self.assertIn("2/3 up", dom.pools["app"])
        self.assertIn("1/1 up", dom.pools["api"])
        self.assertIn("least_connections", dom.pools["api"])
        self.assertEqual({k: v["state"] for k, v in dom.backends.items()}, {
            ("app", "app1"): "up", ("app", "app2"): "up", ("app", "app3"): "ejected", ("api", "api1"): "up"})
        # Columns: backend, address, state, reason, weight, in flight, req/s, requests, 5xx, error rate, mean, p99
        app1_cells = dom.backends[("app", "app1")]["cells"]
        self.assertEqual(app1_cells[0], "app1")
        self.assertEqual(app1_cells[1], app1.address)
        self.assertEqual(app1_cells[2], "up")
        self.assertEqual(app1_cells[4], "5")
        self.assertEqual(app1_cells[5], "0")
        self.assertRegex(app1_cells[6], r"^(\u2013|\d+(\.\d)?)$")  # a dash until a second look
        self.assertGreaterEqual(int(app1_cells[7]), 1)
        self.assertRegex(app1_cells[10], r"^\d+(\.\d+)? (ms|s)$")
        app3_cells = dom.backends[("app", "app3")]["cells"]
        self.assertEqual(app3_cells[2], "ejected")
        self.assertEqual(app3_cells[8], "1")  # its one refused connection
        api_cells = dom.backends[("api", "api1")]["cells"]
        self.assertEqual((api_cells[7], api_cells[8], api_cells[9]), ("2", "2", "100.0%"))
        self.assertIn("3/4 backends up", dom.title)

        os.makedirs(ARTIFACT_DIR, exist_ok=True)
        shot = os.path.join(ARTIFACT_DIR, "status_page.png")
        if os.path.exists(shot):
            os.remove(shot)
        run_chromium(url, f"--screenshot={shot}", "--window-size=1280,900")
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(shot), 10_000, "a blank screenshot")
        print(f"\nscreenshot: {shot}")

        # A later look shows the request rate since the previous one.
        time.sleep(1.1)
        for i in range(4):
            self.assertEqual(self.client().request("GET", f"/later/{i}").status, 200)
        later = Dom()
        later.feed(get(self.lbd.admin_port, "/status", host=f"127.0.0.1:{self.lbd.admin_port}").body.decode())
        self.assertGreater(float(later.backends[("app", "app1")]["cells"][6]), 0)
        self.assertEqual(float(later.backends[("api", "api1")]["cells"][6]), 0)


if __name__ == "__main__":
    unittest.main()
