"""lbd-demo-backend processes for tests that need backends faster than the
Python fake ones (load tests): each answers with X-Backend: NAME."""
import os
import subprocess
import time

from lbd_harness import SOURCE_DIR, free_port, port_accepts

DEMO_BACKEND = os.environ.get("LBD_DEMO_BACKEND",
                              os.path.join(SOURCE_DIR, "build", "default", "lbd-demo-backend"))


class DemoBackend:
    def __init__(self, name):
        self.name = name
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([DEMO_BACKEND, "--name", name, "--listen", self.address],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not port_accepts(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"demo backend {name} did not start on {self.address}")
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
