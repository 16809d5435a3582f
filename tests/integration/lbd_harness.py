"""Runs a real lbd process for a test: writes its YAML config to a temp dir,
waits until its listener and admin ports accept, collects stdout/stderr to
files, and stops it with SIGTERM expecting exit status 0.

ctest runs each test_<behaviour>.py as `python3 -m unittest -v test_x` from
this directory with LBD_BIN (the lbd binary) and LBD_SOURCE_DIR set; by hand:
  cd tests/integration && LBD_BIN=../../build/default/lbd python3 -m unittest -v test_errors
harness_selftest.py checks the fake backends and client without lbd."""
import json
import os
import re
import resource
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from fake_backend import FakeBackend, echo
from httpwire import HttpClient, get, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("LBD_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
LBD_BIN = os.environ.get("LBD_BIN", os.path.join(SOURCE_DIR, "build", "default", "lbd"))
START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0


_handed_out = set()


def free_port():
    """A loopback port free right now (the kernel picks it), never one this
    process was given before: the kernel may hand a just-closed port out
    again, and two calls for one config (listener, admin) must differ."""
    while True:
        with socket.create_server(("127.0.0.1", 0)) as s:
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def port_accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


# ---- configuration ----

def _yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)  # a double-quoted YAML scalar


def to_yaml(value, indent=0):
    """Block-style YAML for dicts, lists and scalars (enough for lbd.yaml)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(item)}")
    else:
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {nested[indent + 2:]}")
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    return "\n".join(lines)


def pool(name, backends, **overrides):
    """A pool section; backends are FakeBackends (named after themselves) or
    "host:port" strings (named addr<position>)."""
    cfg = {
        "name": name,
        "strategy": "round_robin",
        "retries": 2,
        "timeouts": {"connect": "1s", "response": "3s"},
        "keepalive": {"max_idle": 16, "idle_timeout": "30s"},
        "backends": [
            {"name": getattr(b, "name", f"addr{i + 1}"), "address": getattr(b, "address", b)}
            for i, b in enumerate(backends)
        ],
    }
    cfg.update(overrides)
    return cfg


def config(pools, routes=None):
    """A complete config: one worker, one listener "web" routing everything
    to the first pool unless routes are given. Ports are filled in later."""
    return {
        "workers": 1,
        "shutdown_timeout": "5s",
        "admin": {"listen": "127.0.0.1:0"},
        "log": {"level": "info", "access_log": "stdout"},
        "listeners": [{
            "name": "web",
            "listen": "127.0.0.1:0",
            "timeouts": {"header": "2s", "idle": "5s"},
            "limits": {"max_header_bytes": "16KiB", "max_body_bytes": "100MiB",
                       "max_connections": 1000},
            "routes": routes or [{"pool": pools[0]["name"]}],
        }],
        "pools": pools,
    }


# ---- the process ----

def raise_fd_limit():
    """Lifts this process's soft RLIMIT_NOFILE to the hard limit (tests that
    open thousands of sockets); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def rss_tells_lbds_memory():
    """Whether lbd's RSS measures lbd's own memory. Under ThreadSanitizer
    (the tsan preset sets TSAN_OPTIONS) it mostly counts TSan's shadow
    memory, several times what lbd touched and never given back, so RSS
    bounds are checked by the default and asan runs only."""
    return "TSAN_OPTIONS" not in os.environ


def lbd_has_asan():
    """Whether LBD_BIN was built with AddressSanitizer (the asan preset)."""
    out = subprocess.run(["ldd", LBD_BIN], capture_output=True, text=True).stdout
    return "libasan" in out


def memory_test_env():
    """Environment for tests that measure lbd's RSS: under AddressSanitizer,
    freed memory sits in a 256 MiB quarantine and would read as growth."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": f"{asan}:quarantine_size_mb=1".lstrip(":")}


class Lbd:
    def __init__(self, cfg, workdir):
        self.cfg = cfg
        self.workdir = workdir
        self.port = free_port()
        self.admin_port = free_port()
        cfg["listeners"][0]["listen"] = f"127.0.0.1:{self.port}"
        cfg["admin"]["listen"] = f"127.0.0.1:{self.admin_port}"
        self.config_path = os.path.join(workdir, "lbd.yaml")
        self.stdout_path = os.path.join(workdir, "stdout.log")
        self.stderr_path = os.path.join(workdir, "stderr.log")
        self.proc = None
        self.admin_token = None  # sent to the admin listener when set

    def start(self, extra_env=None):
        with open(self.config_path, "w") as f:
            f.write(to_yaml(self.cfg) + "\n")
        env = dict(os.environ, **(extra_env or {}))
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([LBD_BIN, "-c", self.config_path],
                                         stdout=out, stderr=err, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        # lbd answers /healthz only once every listener is bound. Probing the
        # listener itself would leave a connection that still counts against
        # limits.max_connections until lbd has seen it close.
        while not self._healthz_ok():
            if self.proc.poll() is not None:
                raise AssertionError(f"lbd exited with {self.proc.returncode} at start:\n"
                                     f"{self.stderr()}\nconfig:\n{to_yaml(self.cfg)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"lbd not listening after {START_TIMEOUT}s:\n{self.stderr()}")
            time.sleep(0.05)
        return self

    def _healthz_ok(self):
        try:
            auth = [("Authorization", f"Bearer {self.admin_token}")] if self.admin_token else []
            return get(self.admin_port, "/healthz", auth, host=f"127.0.0.1:{self.admin_port}").status == 200
        except (OSError, ValueError):
            return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT):
        """Exit status, or AssertionError if still running after timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"lbd still running {timeout}s after the signal") from None

    def stop(self, expected_status=0):
        """SIGTERM and check the exit status; a no-op once stopped."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.signal(signal.SIGTERM)
        status = self.wait()
        if status != expected_status:
            raise AssertionError(f"lbd exited {status}, expected {expected_status}:\n{self.stderr()}")

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait(5)

    def proc_status_kib(self, field):
        """VmRSS, VmHWM... from /proc/PID/status, in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1))

    def rss_kib(self):
        return self.proc_status_kib("VmRSS")

    def open_fds(self):
        """How many file descriptors lbd holds (listeners, loops, sockets)."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def cpu_seconds(self):
        """User plus system CPU time lbd has used so far, from /proc/PID/stat
        (fields 14 and 15 after the parenthesised command name)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stdout(self):
        with open(self.stdout_path, errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def access_log(self):
        """The JSON objects logged on stdout, one per line."""
        entries = []
        for line in self.stdout().splitlines():
            if line.startswith("{"):
                entries.append(json.loads(line))
        return entries


def reload_config(lbd, timeout=5.0):
    """Writes lbd.cfg to its file, SIGHUP, waits for the reload to be logged."""
    done_before = lbd.stderr().count("reloaded ")
    with open(lbd.config_path, "w") as f:
        f.write(to_yaml(lbd.cfg) + "\n")
    lbd.signal(signal.SIGHUP)
    if not wait_until(lambda: lbd.stderr().count("reloaded ") > done_before, timeout):
        raise AssertionError(f"no reload logged within {timeout}s:\n{lbd.stderr()}")
    time.sleep(0.2)  # workers take the new snapshot on their next loop turn


class LbdTestCase(unittest.TestCase):
    """Starts backends, lbd and clients, and cleans all of them up in reverse
    order: clients close, lbd gets SIGTERM (must exit 0), backends stop."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="lbd-integ-")
        self.addCleanup(self.tmp.cleanup)

    def backend(self, handler=echo, name=None, **kw):
        b = FakeBackend(name or f"b{self._backend_seq()}", handler, **kw).start()
        self.addCleanup(b.stop)
        return b

    def backends(self, n, handler=echo, **kw):
        return [self.backend(handler, **kw) for _ in range(n)]

    def _backend_seq(self):
        self._seq = getattr(self, "_seq", 0) + 1
        return self._seq

    def start_lbd(self, cfg, extra_env=None, expected_status=0, admin_token=None):
        lbd = Lbd(cfg, self.tmp.name)
        lbd.admin_token = admin_token
        self.addCleanup(lbd.kill)
        self.addCleanup(lbd.stop, expected_status)
        lbd.start(extra_env)
        self.lbd = lbd
        return lbd

    def proxy(self, backends, extra_env=None, **pool_overrides):
        """The common case: lbd with one pool "app" of these backends."""
        return self.start_lbd(config([pool("app", backends, **pool_overrides)]), extra_env)

    def client(self, port=None, **kw):
        c = HttpClient(port or self.lbd.port, **kw)
        self.addCleanup(c.close)
        return c

    def assertClosedPromptly(self, client, timeout=3.0):
        self.assertTrue(client.closed_within(timeout),
                        f"connection still open {timeout}s later")


def echoed(response):
    """The request as an echo backend received it (JSON body)."""
    if response.status != 200:
        raise AssertionError(f"expected 200 from the echo backend, got {response!r}")
    return json.loads(response.body)


def header_values(echo_doc, name):
    return [v for k, v in echo_doc["headers"] if k.lower() == name.lower()]
