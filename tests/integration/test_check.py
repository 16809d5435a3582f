"""`lbd --check` and `lbd --version` (issue 2 §2): the exact output format
and exit codes a user scripts against."""
import os
import re
import subprocess
import tempfile
import unittest

from lbd_harness import LBD_BIN, SOURCE_DIR

GOOD = """\
workers: 1
admin:
  listen: 127.0.0.1:9901
log: {level: info, access_log: stdout}
listeners:
  - name: web
    listen: 127.0.0.1:8080
    timeouts: {header: 2s, idle: 5s}
    limits: {max_header_bytes: 32KiB, max_body_bytes: 10MiB, max_connections: 100}
    routes: [{pool: app}]
pools:
  - name: app
    strategy: round_robin
    retries: 2
    timeouts: {connect: 1s, response: 3s}
    keepalive: {max_idle: 16, idle_timeout: 30s}
    backends:
      - {name: b1, address: 127.0.0.1:9001}
      - {name: b2, address: 127.0.0.1:9002, weight: 3}
"""


def with_line(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)


def places(text, key_value):
    """1-based (line, column) of the key and of the value of the first
    "key: value" occurrence: an error may point at either."""
    before = text[: text.index(key_value)]
    line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
    return [(line, column), (line, column + key_value.index(": ") + 2)]


class CheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="lbd-check-")
        self.addCleanup(self.tmp.cleanup)

    def check(self, text, name="lbd.yaml"):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        proc = subprocess.run([LBD_BIN, "--check", "-c", path], capture_output=True,
                              text=True, timeout=20)
        return path, proc.returncode, (proc.stdout + proc.stderr).splitlines()

    def assertSingleError(self, text, key_path, at_one_of):
        """Exit 2 and exactly one line FILE:LINE:COL: key_path: message, where
        LINE:COL is one of the given (line, col) places (the key or value)."""
        path, status, lines = self.check(text)
        self.assertEqual(status, 2, lines)
        self.assertEqual(len(lines), 1, lines)
        m = re.fullmatch(rf"{re.escape(path)}:(\d+):(\d+): {re.escape(key_path)}: (.+)", lines[0])
        self.assertIsNotNone(m, f"{lines[0]!r} is not FILE:LINE:COL: {key_path}: message")
        self.assertIn((int(m.group(1)), int(m.group(2))), at_one_of, lines[0])
        return m.group(3)

    def test_good_file_is_ok(self):
        path, status, lines = self.check(GOOD)
        self.assertEqual((status, lines), (0, [f"{path}: ok"]))

    def test_bad_value_names_place_and_key_path(self):
        text = with_line(GOOD, "weight: 3", "weight: 0")
        self.assertSingleError(text, "pools[0].backends[1].weight", places(text, "weight: 0"))

    def test_unknown_key_is_an_error(self):
        text = with_line(GOOD, "{header: 2s,", "{headr: 2s,")
        message = self.assertSingleError(text, "listeners[0].timeouts.headr",
                                         places(text, "headr: 2s"))
        self.assertIn("unknown", message)

    def test_duplicate_pool_name_is_an_error(self):
        text = GOOD + "  - name: app\n    backends: [{name: c1, address: 127.0.0.1:9003}]\n"
        self.assertSingleError(text, "pools[1].name", places(text, "name: app\n    backends: [{name: c1"))

    def test_unknown_strategy_is_rejected_not_replaced(self):
        text = with_line(GOOD, "strategy: round_robin", "strategy: fastest_first")
        self.assertSingleError(text, "pools[0].strategy", places(text, "strategy: fastest_first"))

    def test_every_error_is_reported(self):
        text = with_line(GOOD, "weight: 3", "weight: 0")
        text = with_line(text, "idle: 5s", "idle: 5 parsecs")
        text = with_line(text, "routes: [{pool: app}]", "routes: [{pool: nowhere}]")
        path, status, lines = self.check(text)
        self.assertEqual(status, 2, lines)
        paths = sorted(re.match(rf"{re.escape(path)}:\d+:\d+: ([^:]+): ", l).group(1) for l in lines)
        self.assertEqual(paths, ["listeners[0].routes[0].pool", "listeners[0].timeouts.idle",
                                 "pools[0].backends[1].weight"])

    def test_invalid_yaml_syntax(self):
        path, status, lines = self.check(GOOD + "pools: [\n")
        self.assertEqual(status, 2, lines)
        self.assertTrue(lines and all(l.startswith(f"{path}:") for l in lines), lines)

    def test_missing_file(self):
        proc = subprocess.run([LBD_BIN, "--check", "-c", os.path.join(self.tmp.name, "none.yaml")],
                              capture_output=True, text=True, timeout=20)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("none.yaml", proc.stdout + proc.stderr)

    def test_version(self):
        with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
            version = re.search(r"project\(lbd VERSION ([\d.]+)", f.read()).group(1)
        proc = subprocess.run([LBD_BIN, "--version"], capture_output=True, text=True, timeout=20)
        self.assertEqual(proc.returncode, 0)
        self.assertIn(version, proc.stdout)


if __name__ == "__main__":
    unittest.main()
