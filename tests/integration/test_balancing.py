"""Every balancing strategy through a real lbd (issue 3): how real requests
spread, who keeps which backend under ip_hash and consistent_hash, how
least_connections and p2c_ewma steer around a slow backend, and weight and
strategy changes on reload.

With `workers: 1` one strategy instance sees every request, so sequences are
exact; with more workers each rotates on its own and only proportions hold."""
import collections
import itertools
import socket
import sys
import threading
import time
import unittest

from httpwire import HttpClient, SocketReader, build_request, get, wait_until
from lbd_harness import LbdTestCase, config, echoed, pool, reload_config
import fake_backend as fb

LOAD_THREADS = 20
LOAD_SECONDS = 5.0
LOAD_MAX_REQUESTS = 20000
SLOW_SECONDS = 0.2


class SourceBoundClient(HttpClient):
    """A client connection from a chosen loopback address (127.0.0.2, ...):
    to lbd it is a different client IP."""

    def __init__(self, port, source_ip, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source_ip, 0))
        self.reader = SocketReader(self.sock)


def backend_of(response):
    """The backend that answered (fake backends name themselves)."""
    if response.status != 200:
        raise AssertionError(f"expected 200, got {response!r}")
    return response.header("X-Backend")


def sequence(port, count, target="/seq"):
    """Backends answering `count` sequential requests on one connection."""
    client = HttpClient(port, timeout=5.0)
    try:
        return [backend_of(client.request("GET", target)) for _ in range(count)]
    finally:
        client.close()


def shares(counts):
    total = sum(counts.values())
    return {name: round(n / total, 3) for name, n in sorted(counts.items())}


def report(label, counts):
    print(f"\n  {label}: {dict(sorted(counts.items()))} shares {shares(counts)}",
          file=sys.stderr, flush=True)


def concurrent_load(port, threads=LOAD_THREADS, seconds=LOAD_SECONDS,
                    max_requests=LOAD_MAX_REQUESTS, target="/load"):
    """`threads` keep-alive clients sending back to back until `seconds`
    pass or `max_requests` are sent. Returns (backend counts, failures)."""
    counts = collections.Counter()
    failures = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    sent = 0

    def run():
        nonlocal sent
        client = None
        try:
            client = HttpClient(port, timeout=5.0)
            while time.monotonic() < deadline:
                with lock:
                    if sent >= max_requests:
                        return
                    sent += 1
                resp = client.request("GET", target)
                with lock:
                    if resp.status == 200:
                        counts[resp.header("X-Backend")] += 1
                    else:
                        failures.append(resp.status)
        except (OSError, ValueError) as e:
            with lock:
                failures.append(repr(e))
        finally:
            if client:
                client.close()

    clients = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(seconds + 10)
    return counts, failures




def weighted(backends, *weights):
    return [{"name": b.name, "address": b.address, "weight": w} for b, w in zip(backends, weights)]


class BalancingTestCase(LbdTestCase):
    def start(self, members, workers=1, weights=None, **pool_overrides):
        """lbd with one pool "app" of these FakeBackends."""
        cfg = config([pool("app", members, **pool_overrides)])
        cfg["workers"] = workers
        if weights:
            cfg["pools"][0]["backends"] = weighted(members, *weights)
        return self.start_lbd(cfg)


class RotationTest(BalancingTestCase):
    def test_round_robin_strict_rotation_with_one_worker(self):
        lbd = self.start(self.backends(3))
        seq = sequence(lbd.port, 300)
        self.assertEqual(sorted(set(seq[:3])), ["b1", "b2", "b3"], seq[:3])
        self.assertEqual(seq, seq[:3] * 100)

    def test_round_robin_equal_shares_with_two_workers(self):
        lbd = self.start(self.backends(3), workers=2)
        counts = collections.Counter(backend_of(get(lbd.port, f"/{i}")) for i in range(600))
        report("round_robin, 2 workers, 600 requests", counts)
        self.assertEqual(set(counts), {"b1", "b2", "b3"})
        for name, n in counts.items():
            self.assertAlmostEqual(n / 600, 1 / 3, delta=0.02, msg=f"{name}: {counts}")

    def test_round_robin_ignores_weights(self):
        bs = self.backends(3)
        lbd = self.start(bs, weights=(5, 1, 1))
        self.assertEqual(collections.Counter(sequence(lbd.port, 30)), {"b1": 10, "b2": 10, "b3": 10})

    def test_weighted_round_robin_smooth_sequence_with_one_worker(self):
        bs = self.backends(3)
        lbd = self.start(bs, strategy="weighted_round_robin", weights=(3, 2, 1))
        seq = sequence(lbd.port, 600)
        self.assertEqual(collections.Counter(seq), {"b1": 300, "b2": 200, "b3": 100})
        for start in range(0, 600 - 6):
            self.assertEqual(collections.Counter(seq[start:start + 6]),
                             {"b1": 3, "b2": 2, "b3": 1}, f"window at {start}: {seq[start:start + 6]}")
        longest_run = max(len(list(run)) for _, run in itertools.groupby(seq))
        self.assertLessEqual(longest_run, 2, f"a burst of one backend: {seq[:12]}")

    def test_weighted_round_robin_shares_with_two_workers(self):
        bs = self.backends(3)
        lbd = self.start(bs, workers=2, strategy="weighted_round_robin", weights=(3, 2, 1))
        counts = collections.Counter(backend_of(get(lbd.port, f"/{i}")) for i in range(600))
        report("weighted_round_robin 3,2,1, 2 workers, 600 requests", counts)
        for name, weight in (("b1", 3), ("b2", 2), ("b3", 1)):
            self.assertAlmostEqual(counts[name] / 600, weight / 6, delta=0.03, msg=f"{name}: {counts}")


class IpHashTest(BalancingTestCase):
    CLIENTS = [f"127.0.0.{i}" for i in range(2, 14)]

    def backend_per_client(self, port, connections=3, requests=3):
        """Each client's one backend over several connections; fails if a
        client was answered by more than one."""
        placement = {}
        for ip in self.CLIENTS:
            seen = set()
            for _ in range(connections):
                client = SourceBoundClient(port, ip)
                try:
                    for i in range(requests):
                        seen.add(backend_of(client.request("GET", f"/ip/{i}")))
                finally:
                    client.close()
            self.assertEqual(len(seen), 1, f"client {ip} was served by {sorted(seen)}")
            placement[ip] = seen.pop()
        return placement

    def test_client_keeps_its_backend_and_clients_spread(self):
        lbd = self.start(self.backends(3), workers=2, strategy="ip_hash")
        placement = self.backend_per_client(lbd.port)
        report(f"ip_hash, {len(self.CLIENTS)} clients", collections.Counter(placement.values()))
        self.assertGreater(len(set(placement.values())), 1, f"every client on one backend: {placement}")

    def test_only_the_clients_of_a_down_backend_move(self):
        bs = self.backends(3)
        lbd = self.start(bs, workers=2, strategy="ip_hash",
                         passive={"max_fails": 1, "fail_timeout": "10s"})
        before = self.backend_per_client(lbd.port)
        # The backend with the most clients goes down.
        victim_name = collections.Counter(before.values()).most_common(1)[0][0]
        victim = next(b for b in bs if b.name == victim_name)
        victim.stop()
        after = self.backend_per_client(lbd.port)
        report(f"ip_hash after {victim_name} stopped", collections.Counter(after.values()))
        for ip in self.CLIENTS:
            if before[ip] == victim_name:
                self.assertNotEqual(after[ip], victim_name, f"client {ip} still on the stopped backend")
            else:
                self.assertEqual(after[ip], before[ip], f"client {ip} moved though its backend is up")
        moved = [ip for ip in self.CLIENTS if before[ip] != after[ip]]
        self.assertTrue(moved, "no client was on the stopped backend")


class ConsistentHashTest(BalancingTestCase):
    def placement(self, port, keys, headers_for, target_for=lambda key: "/ch", repeats=3):
        """key -> the one backend that answered it, each request on a fresh
        connection (so both workers see every key)."""
        placement = {}
        for key in keys:
            seen = {backend_of(get(port, target_for(key), headers=headers_for(key))) for _ in range(repeats)}
            self.assertEqual(len(seen), 1, f"key {key!r} went to {sorted(seen)}")
            placement[key] = seen.pop()
        return placement

    def assertSpread(self, placement, label):
        report(label, collections.Counter(placement.values()))
        self.assertEqual(set(placement.values()), {"b1", "b2", "b3"}, placement)

    def test_uri_key(self):
        lbd = self.start(self.backends(3), workers=2, strategy="consistent_hash", hash_key="uri")
        placement = self.placement(lbd.port, [f"/item/{i}" for i in range(30)],
                                   headers_for=lambda key: (), target_for=lambda key: key)
        self.assertSpread(placement, "consistent_hash uri, 30 paths")

    def test_header_key_and_its_name_is_case_insensitive(self):
        lbd = self.start(self.backends(3), workers=2, strategy="consistent_hash", hash_key="header:X-User")
        users = [f"user{i}" for i in range(30)]
        placement = self.placement(lbd.port, users, headers_for=lambda u: [("X-User", u)])
        self.assertSpread(placement, "consistent_hash header:X-User, 30 users")
        lower = self.placement(lbd.port, users[:10], headers_for=lambda u: [("x-user", u)], repeats=1)
        self.assertEqual(lower, {u: placement[u] for u in users[:10]})

    def test_cookie_key_ignores_other_cookies(self):
        lbd = self.start(self.backends(3), workers=2, strategy="consistent_hash", hash_key="cookie:session")
        sessions = [f"s{i:04d}" for i in range(30)]
        placement = self.placement(lbd.port, sessions,
                                   headers_for=lambda s: [("Cookie", f"session={s}")])
        self.assertSpread(placement, "consistent_hash cookie:session, 30 sessions")
        mixed = self.placement(lbd.port, sessions[:10], repeats=1,
                               headers_for=lambda s: [("Cookie", f"theme=dark; session={s}; lang=en")])
        self.assertEqual(mixed, {s: placement[s] for s in sessions[:10]})

    def test_request_without_the_key_is_rotated(self):
        for hash_key, headers in (("header:X-User", [("X-Other", "1")]),
                                  ("cookie:session", [("Cookie", "theme=dark")])):
            with self.subTest(hash_key=hash_key):
                lbd = self.start(self.backends(3), strategy="consistent_hash", hash_key=hash_key)
                client = self.client(lbd.port)
                seen = [backend_of(client.request("GET", "/nokey", headers=headers)) for _ in range(6)]
                self.assertEqual(sorted(collections.Counter(seen).values()), [2, 2, 2], seen)
                lbd.stop()


class SlowBackendTest(BalancingTestCase):
    """One backend answers after SLOW_SECONDS, the others at once; under
    concurrent load the slow one must get clearly less than its share."""

    def run_against_slow_backend(self, strategy):
        slow = self.backend(fb.delayed(SLOW_SECONDS), name="slow")
        fast = [self.backend(name=f"fast{i}") for i in (1, 2)]
        lbd = self.start([slow] + fast, workers=2, strategy=strategy)
        counts, failures = concurrent_load(lbd.port)
        report(f"{strategy}, {LOAD_THREADS} clients, {LOAD_SECONDS}s, slow backend {SLOW_SECONDS}s", counts)
        self.assertEqual(failures, [])
        total = sum(counts.values())
        self.assertGreater(total, 200, f"too little traffic to judge: {counts}")
        self.assertLess(counts["slow"] / total, 0.5 / 3, f"slow backend not avoided: {counts}")
        for name in ("fast1", "fast2"):
            self.assertGreater(counts[name] / total, 0.25, f"fast backends not shared: {counts}")

    def test_least_connections_avoids_the_slow_backend(self):
        self.run_against_slow_backend("least_connections")

    def test_p2c_ewma_avoids_the_slow_backend(self):
        self.run_against_slow_backend("p2c_ewma")

    def test_p2c_ewma_returns_to_a_recovered_backend(self):
        delay = {"seconds": SLOW_SECONDS}

        def recovering(ex, req):
            time.sleep(delay["seconds"])
            return fb.echo(ex, req)

        slow = self.backend(recovering, name="slow")
        fast = [self.backend(name=f"fast{i}") for i in (1, 2)]
        lbd = self.start([slow] + fast, workers=2, strategy="p2c_ewma")
        slow_phase, failures = concurrent_load(lbd.port, seconds=3.0)
        report("p2c_ewma while slow", slow_phase)
        self.assertEqual(failures, [])
        slow_share = slow_phase["slow"] / sum(slow_phase.values())
        self.assertLess(slow_share, 0.5 / 3, slow_phase)
        delay["seconds"] = 0
        # The estimate believes recovery only after about its decay time
        # (10 s), so watch the share grow second by second.
        for second in range(1, 7):
            recovered, failures = concurrent_load(lbd.port, seconds=1.0)
            report(f"p2c_ewma {second}s after recovery", recovered)
            self.assertEqual(failures, [])
        recovered_share = recovered["slow"] / sum(recovered.values())
        self.assertGreater(recovered_share, max(0.10, 3 * slow_share),
                           f"the recovered backend did not regain traffic: {recovered}")


class ReloadTest(BalancingTestCase):
    """The new config is written to lbd's file and SIGHUP sent; the worker
    then serves new requests with the new strategy and weights."""

    def test_strategy_change_applies_to_new_requests_and_spares_in_flight(self):
        bs = self.backends(3, handler=fb.when(lambda req: req.target == "/slow", fb.delayed(1.5)))
        lbd = self.start(bs)
        self.assertEqual(collections.Counter(sequence(lbd.port, 30)), {"b1": 10, "b2": 10, "b3": 10})

        heads_before = sum(b.heads for b in bs)
        in_flight = self.client(lbd.port)
        in_flight.send(build_request("GET", "/slow", headers=[("Connection", "close")]))
        self.assertTrue(wait_until(lambda: sum(b.heads for b in bs) > heads_before, 3),
                        "the slow request never reached a backend")
        lbd.cfg["pools"][0].update(strategy="weighted_round_robin", backends=weighted(bs, 10, 1, 1))
        reload_config(lbd)

        after = collections.Counter(sequence(lbd.port, 120))
        report("round_robin -> weighted_round_robin 10,1,1 on reload, 120 requests", after)
        self.assertEqual(after, {"b1": 100, "b2": 10, "b3": 10})
        resp = in_flight.read_response()
        self.assertEqual((resp.status, echoed(resp)["target"]), (200, "/slow"))

    def test_weight_change_applies_to_new_requests(self):
        bs = self.backends(3)
        lbd = self.start(bs, strategy="weighted_round_robin", weights=(1, 1, 1))
        self.assertEqual(collections.Counter(sequence(lbd.port, 60)), {"b1": 20, "b2": 20, "b3": 20})
        lbd.cfg["pools"][0]["backends"] = weighted(bs, 1, 1, 10)
        reload_config(lbd)
        after = collections.Counter(sequence(lbd.port, 120))
        report("weighted_round_robin 1,1,1 -> 1,1,10 on reload, 120 requests", after)
        self.assertEqual(after, {"b1": 10, "b2": 10, "b3": 100})

    def test_keepalive_connection_idle_across_the_reload_follows_it(self):
        bs = self.backends(3)
        lbd = self.start(bs)
        client = self.client(lbd.port)
        before = collections.Counter(backend_of(client.request()) for _ in range(30))
        self.assertEqual(before, {"b1": 10, "b2": 10, "b3": 10})
        lbd.cfg["pools"][0].update(strategy="weighted_round_robin", backends=weighted(bs, 10, 1, 1))
        reload_config(lbd)
        after = collections.Counter(backend_of(client.request()) for _ in range(120))
        self.assertEqual(after, {"b1": 100, "b2": 10, "b3": 10})


if __name__ == "__main__":
    unittest.main()
