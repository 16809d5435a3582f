"""Helpers for the health, failover and admin API tests: the admin API's
JSON and a bounded load of concurrent requests (backends a test can SIGKILL
or SIGSTOP are demo_backends.DemoBackend processes)."""
import json
import threading
import time

from httpwire import HttpClient, wait_until


# ---- the admin API ----

def admin_request(lbd, method, path, token=None):
    headers = [("Authorization", f"Bearer {token}")] if token else []
    client = HttpClient(lbd.admin_port)
    try:
        return client.request(method, path, headers, host=f"127.0.0.1:{lbd.admin_port}")
    finally:
        client.close()


def api_pools(lbd, token=None):
    resp = admin_request(lbd, "GET", "/api/pools", token)
    if resp.status != 200:
        raise AssertionError(f"GET /api/pools: {resp!r}")
    return json.loads(resp.body)


def api_backend(lbd, pool_name, backend_name, token=None):
    for p in api_pools(lbd, token)["pools"]:
        if p["name"] == pool_name:
            for b in p["backends"]:
                if b["name"] == backend_name:
                    return b
    raise AssertionError(f"no backend {backend_name} in pool {pool_name}")


def set_admin_state(lbd, pool_name, backend_name, action, token=None):
    return admin_request(lbd, "POST", f"/api/pools/{pool_name}/backends/{backend_name}/{action}", token)


def wait_for_state(lbd, backend_name, states, timeout, pool_name="app"):
    """Seconds until the backend's state is one of `states`, polled every
    20 ms; AssertionError if it is not within timeout."""
    start = time.monotonic()
    states = {states} if isinstance(states, str) else set(states)
    last = None
    while time.monotonic() - start < timeout:
        last = api_backend(lbd, pool_name, backend_name)
        if last["state"] in states:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"{backend_name} not {states} within {timeout}s: {json.dumps(last, indent=1)}")


def fully_up(lbd, names, pool_name="app"):
    """Every named backend has passed enough checks to need `fall` failures."""
    def check():
        for p in api_pools(lbd)["pools"]:
            if p["name"] != pool_name:
                continue
            for b in p["backends"]:
                if b["name"] in names:
                    active = b["active"]
                    if active is None or active["health"] != active["rise"] + active["fall"] - 1:
                        return False
        return True
    return wait_until(check, 10)




# ---- load ----

class Load:
    """`clients` keep-alive connections sending GET / in a loop until stop()
    or `seconds` pass (a hard bound). Each result is (time.monotonic() at
    completion, status or an exception name, X-Backend, seconds taken)."""

    def __init__(self, port, clients=6, seconds=15.0, target="/", timeout=10.0):
        self.port = port
        self.target = target
        self.timeout = timeout
        self.deadline = time.monotonic() + seconds
        self.results = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(self.timeout + 5)

    def _run(self):
        client = None
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            began = time.monotonic()
            try:
                if client is None:
                    client = HttpClient(self.port, timeout=self.timeout)
                resp = client.request("GET", self.target, host="lbd.test")
                outcome, backend = resp.status, resp.header("X-Backend", "")
                if resp.header("Connection", "").lower() == "close":
                    client.close()
                    client = None
            except Exception as e:  # every failure is a result, reported by the test
                outcome, backend = type(e).__name__, ""
                if client is not None:
                    client.close()
                client = None
            now = time.monotonic()
            with self.lock:
                self.results.append((now, outcome, backend, now - began))
        if client is not None:
            client.close()

    def snapshot(self):
        with self.lock:
            return list(self.results)
