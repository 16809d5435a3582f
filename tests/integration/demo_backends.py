"""lbd-demo-backend processes for tests that need a real backend process
(load tests, SIGKILL/SIGSTOP, WebSocket, sessions): each answers with
X-Backend: NAME and runs on a free loopback port until stop()."""
import os
import signal
import subprocess
import time

from httpwire import get
from lbd_harness import SOURCE_DIR, free_port, port_accepts

DEMO_BACKEND = os.environ.get("LBD_DEMO_BACKEND",
                              os.path.join(SOURCE_DIR, "build", "default", "lbd-demo-backend"))


class DemoBackend:
    def __init__(self, name, log_dir=None, redis_port=None, port=None, args=()):
        """Starts `lbd-demo-backend --name NAME`; its output goes to
        LOG_DIR/NAME.log when log_dir is given; with redis_port its
        /session store is that Redis instead of its own memory. `port`
        reuses a stopped backend's port (a restart); `args` are more flags
        (e.g. ["--delay-ms", "800"], or the model-server mode's)."""
        self.name = name
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        args = [DEMO_BACKEND, "--name", name, "--listen", self.address, *args]
        if redis_port:
            args += ["--redis", f"127.0.0.1:{redis_port}"]
        self.log_path = os.path.join(log_dir, f"{name}.log") if log_dir else None
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(args, stdout=out, stderr=out)
        finally:
            if self.log_path:
                out.close()
        deadline = time.monotonic() + 10
        while not port_accepts(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"demo backend {name} did not start on {self.address}" + self._log_tail())
            time.sleep(0.05)

    def _log_tail(self):
        if not self.log_path:
            return ""
        with open(self.log_path, errors="replace") as f:
            return ":\n" + f.read()[-2000:]

    def set_healthy(self, healthy):
        """Its /healthz answers 200 (True) or 503 (False) from now on."""
        path = "/admin/health/ok" if healthy else "/admin/health/fail"
        resp = get(self.port, path, host=self.address)
        assert resp.status == 200, resp

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)  # in case a test stopped it
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
