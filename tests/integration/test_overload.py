"""Overload protection through a real lbd with two workers: max_requests per
backend across workers, the pool queue (order, full, timeout, a client that
leaves), the retry budget, retry_on_status, no passive-ejection cascade, and
max_requests set through the admin API."""
import json
import threading
import time
import unittest

from fake_backend import delayed, echo, reset_after_request, respond, when
from health_helpers import admin_request, api_pools
from httpwire import HttpClient, wait_until
from lbd_harness import LbdTestCase, config, pool, reload_config
from prom_text import scrape


class Gauge:
    """Requests a backend is answering now, the most at once, and the
    order (X-Seq header) and lbd worker (X-Request-Id) of each request."""

    def __init__(self, seconds, status=200):
        self.seconds = seconds
        self.status = status
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.seen = []  # (X-Seq, worker) in arrival order

    def handler(self, ex, req):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            request_id = req.header("X-Request-Id", "--")
            self.seen.append((req.header("X-Seq"), request_id.split("-")[1]))
        time.sleep(self.seconds)
        # Out of flight before the answer leaves: once lbd has it, the slot
        # is free and the next request may arrive before respond() returns.
        with self.lock:
            self.now -= 1
        return ex.respond(self.status, b"ok\n")


def two_workers(cfg):
    cfg["workers"] = 2
    return cfg


def get(port, target="/", headers=(), results=None, key=None, timeout=15):
    """One request on its own connection; stores (status, Retry-After,
    seconds taken) in results[key] when given."""
    start = time.monotonic()
    c = HttpClient(port, timeout=timeout)
    try:
        r = c.request("GET", target, headers)
        out = (r.status, r.header("Retry-After"), time.monotonic() - start, r.body)
    except OSError as e:
        out = (None, None, time.monotonic() - start, repr(e).encode())
    finally:
        c.close()
    if results is not None:
        results[key] = out
    return out


def run_all(threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)


class OverloadTest(LbdTestCase):
    def queued_pool(self, backends, max_requests, queue, **kw):
        p = pool("app", backends, queue=queue, **kw)
        for b in p["backends"]:
            b["max_requests"] = max_requests
        return p

    def metrics(self):
        return scrape(self.lbd.admin_port)

    def test_no_backend_ever_sees_more_than_max_requests(self):
        gauges = [Gauge(0.15), Gauge(0.15)]
        backends = [self.backend(g.handler) for g in gauges]
        self.start_lbd(two_workers(config([self.queued_pool(backends, 2, {"max": 100, "timeout": "10s"})])))
        results = {}
        run_all([threading.Thread(target=get, args=(self.lbd.port, "/", (), results, i)) for i in range(24)])
        self.assertEqual(sorted(r[0] for r in results.values()), [200] * 24, results)
        self.assertEqual([g.peak for g in gauges], [2, 2])  # full use, never more
        m = self.metrics()
        self.assertGreater(m.value("lbd_pool_queue_wait_seconds_count", pool="app"), 0)
        self.assertEqual(m.value("lbd_pool_queue_length", pool="app"), 0)
        self.assertEqual(m.value("lbd_backend_max_requests", pool="app", backend=backends[0].name), 2)

    def test_queue_is_first_come_first_served_across_workers(self):
        gauge = Gauge(0.1)
        backend = self.backend(gauge.handler)
        self.start_lbd(two_workers(config([self.queued_pool([backend], 1, {"max": 100, "timeout": "20s"})])))
        results = {}
        threads = [threading.Thread(target=get, args=(self.lbd.port, "/", [("X-Seq", str(i))], results, i))
                   for i in range(16)]
        for t in threads:  # arrivals 30 ms apart, while each answer takes 100 ms
            t.start()
            time.sleep(0.03)
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(r[0] for r in results.values()), [200] * 16, results)
        order = [int(seq) for seq, _ in gauge.seen]
        # Served in arrival order, give or take a neighbour (two workers
        # publishing their oldest ticket at once).
        for position, seq in enumerate(order):
            self.assertLessEqual(abs(position - seq), 1, f"served in order {order}")
        # Both workers had requests waiting, and each was served: a slot that
        # one worker freed went to the other's waiter.
        workers = [w for _, w in gauge.seen]
        self.assertEqual(set(workers), {"0", "1"}, f"requests came through workers {workers}")
        self.assertEqual(gauge.peak, 1)

    def test_a_hash_keyed_request_waits_for_its_own_backend(self):
        # Two backends, one request at a time each. User "u"'s backend is
        # busy: u's second request waits for it (its cache is there) even
        # though the other backend is free, and other users go straight on.
        gauges = [Gauge(0.6), Gauge(0.6)]
        backends = [self.backend(g.handler, name=f"b{i}") for i, g in enumerate(gauges)]
        self.start_lbd(config([self.queued_pool(backends, 1, {"max": 10, "timeout": "10s"},
                                                strategy="consistent_hash", hash_key="header:X-User")]))
        results = {}
        first = threading.Thread(target=get, args=(self.lbd.port, "/", [("X-User", "u"), ("X-Seq", "1")], results, 1))
        first.start()
        wait_until(lambda: sum(g.now for g in gauges) == 1, 5)
        second = threading.Thread(target=get, args=(self.lbd.port, "/", [("X-User", "u"), ("X-Seq", "2")], results, 2))
        second.start()
        wait_until(lambda: self.metrics().value("lbd_pool_queue_length", pool="app") == 1, 5)
        # Someone whose key maps to the other backend is not held up.
        others = [f"v{i}" for i in range(50)]
        busy = [i for i, g in enumerate(gauges) if g.now == 1][0]
        other_user = None
        for user in others:
            status, _, took, _ = get(self.lbd.port, "/", [("X-User", user), ("X-Seq", "x")])
            self.assertEqual(status, 200)
            if took < 0.9 and gauges[1 - busy].seen and gauges[1 - busy].seen[-1][0] == "x":  # 0.6 s of work, no wait
                other_user = user
                break
        self.assertIsNotNone(other_user, "no user reached the free backend without waiting")
        first.join(10)
        second.join(10)
        self.assertEqual((results[1][0], results[2][0]), (200, 200), results)
        served_u = [g for g in gauges if any(seq in ("1", "2") for seq, _ in g.seen)]
        self.assertEqual(len(served_u), 1, "user u was served by both backends")
        self.assertEqual(served_u[0].peak, 1)
        self.assertGreater(results[2][2], 0.4)  # it waited for its backend

    def test_a_queued_retry_does_not_hold_up_the_line(self):
        # One backend is busy with a slow request. A request fails on the
        # other and its retry waits for the busy one (it may not go back).
        # A request that comes next may use the free backend: it must not
        # wait behind the retry until the slow request ends.
        handler = when(lambda req: req.target == "/fail", reset_after_request,
                       when(lambda req: req.target == "/slow", delayed(1.5)))
        backends = [self.backend(handler, name=f"b{i}") for i in (1, 2)]
        self.start_lbd(config([self.queued_pool(backends, 1, {"max": 10, "timeout": "10s"},
                                                passive={"max_fails": 0})]))
        results = {}
        slow = threading.Thread(target=get, args=(self.lbd.port, "/slow", (), results, "slow"))
        slow.start()
        wait_until(lambda: sum(b.request_count for b in backends) == 1, 5)
        retry = threading.Thread(target=get, args=(self.lbd.port, "/fail", (), results, "retry"))
        retry.start()
        self.assertTrue(wait_until(lambda: self.metrics().value("lbd_pool_queue_length", pool="app") == 1, 5))
        status, _, took, body = get(self.lbd.port, "/next")
        self.assertEqual(status, 200, body)
        self.assertLess(took, 1.0, "waited behind a retry that could not use the free backend")
        slow.join(10)
        retry.join(10)
        self.assertEqual(results["slow"][0], 200)

    def test_a_full_queue_answers_503_at_once_with_retry_after(self):
        backend = self.backend(delayed(1.0))
        self.start_lbd(config([self.queued_pool([backend], 1, {"max": 1, "timeout": "10s"})]))
        results = {}
        first = threading.Thread(target=get, args=(self.lbd.port, "/", (), results, "served"))
        first.start()
        wait_until(lambda: backend.request_count == 1, 5)
        second = threading.Thread(target=get, args=(self.lbd.port, "/", (), results, "queued"))
        second.start()
        wait_until(lambda: self.metrics().value("lbd_pool_queue_length", pool="app") == 1, 5)
        status, retry_after, took, body = get(self.lbd.port)
        self.assertEqual(status, 503, body)
        self.assertEqual(retry_after, "1")
        self.assertLess(took, 0.5)  # turned away at once, not after waiting
        first.join(10)
        second.join(10)
        self.assertEqual(results["served"][0], 200)
        self.assertEqual(results["queued"][0], 200)
        self.assertEqual(backend.request_count, 2)  # the 503 never reached it
        self.assertEqual(self.metrics().value("lbd_pool_queue_rejected_total", pool="app", reason="full"), 1)

    def test_max_zero_answers_503_instead_of_overloading(self):
        backend = self.backend(delayed(0.8))
        self.start_lbd(config([self.queued_pool([backend], 1, {"max": 0})]))
        results = {}
        first = threading.Thread(target=get, args=(self.lbd.port, "/", (), results, "served"))
        first.start()
        wait_until(lambda: backend.request_count == 1, 5)
        status, retry_after, took, _ = get(self.lbd.port)
        first.join(10)
        self.assertEqual((status, retry_after), (503, "1"))
        self.assertEqual(results["served"][0], 200)
        self.assertEqual(backend.request_count, 1)

    def test_waiting_past_the_queue_timeout_answers_503(self):
        backend = self.backend(delayed(1.5))
        self.start_lbd(config([self.queued_pool([backend], 1, {"max": 10, "timeout": "300ms"})]))
        results = {}
        first = threading.Thread(target=get, args=(self.lbd.port, "/", (), results, "served"))
        first.start()
        wait_until(lambda: backend.request_count == 1, 5)
        status, retry_after, took, _ = get(self.lbd.port)
        self.assertEqual((status, retry_after), (503, "1"))
        self.assertGreaterEqual(took, 0.25)
        self.assertLess(took, 1.2)
        first.join(10)
        self.assertEqual(backend.request_count, 1)
        self.assertEqual(self.metrics().value("lbd_pool_queue_rejected_total", pool="app", reason="timeout"), 1)

    def test_a_client_that_leaves_while_queued_never_reaches_a_backend(self):
        backend = self.backend(delayed(0.8))
        self.start_lbd(config([self.queued_pool([backend], 1, {"max": 10, "timeout": "10s"})]))
        results = {}
        first = threading.Thread(target=get, args=(self.lbd.port, "/", (), results, "served"))
        first.start()
        wait_until(lambda: backend.request_count == 1, 5)
        leaver = HttpClient(self.lbd.port)
        leaver.send(b"GET /gone HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(wait_until(lambda: self.metrics().value("lbd_pool_queue_length", pool="app") == 1, 5))
        leaver.close()
        self.assertTrue(wait_until(lambda: self.metrics().value("lbd_pool_queue_length", pool="app") == 0, 5))
        first.join(10)
        time.sleep(0.3)
        self.assertEqual(results["served"][0], 200)
        self.assertEqual(backend.request_count, 1)  # /gone never went out
        self.assertEqual(
            self.metrics().value("lbd_pool_queue_rejected_total", pool="app", reason="client_gone"), 1)

    def test_a_stream_holds_its_slot_until_it_ends(self):
        def stream(ex, req):
            if req.target == "/stream":
                ex.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n")
                for i in range(5):
                    time.sleep(0.12)
                    event = b"data: %d\n\n" % i
                    ex.send(b"%x\r\n%s\r\n" % (len(event), event))
                ex.send(b"0\r\n\r\n")
                ex.backend.stream_ended = time.monotonic()
                return True
            ex.backend.other_started = time.monotonic()
            return echo(ex, req)
        backend = self.backend(stream)
        self.start_lbd(config([self.queued_pool([backend], 1, {"max": 10, "timeout": "10s"})]))
        results = {}
        s = threading.Thread(target=get, args=(self.lbd.port, "/stream", (), results, "stream"))
        s.start()
        wait_until(lambda: backend.request_count == 1, 5)
        time.sleep(0.1)  # the head is out; the events are still coming
        status, _, _, _ = get(self.lbd.port, "/other")
        s.join(10)
        self.assertEqual((results["stream"][0], status), (200, 200))
        self.assertGreaterEqual(backend.other_started, backend.stream_ended - 0.01)

    def test_the_retry_budget_caps_retries_when_every_backend_fails(self):
        def slow_reset(ex, req):
            time.sleep(0.3)
            ex.reset()
            return False
        backends = self.backends(3, slow_reset)
        self.start_lbd(two_workers(config([pool(
            "app", backends, retries=2, retry_budget={"percent": 0, "min_retries": 2},
            passive={"max_fails": 0})])))
        results = {}
        run_all([threading.Thread(target=get, args=(self.lbd.port, "/", (), results, i)) for i in range(20)])
        self.assertEqual(sorted(r[0] for r in results.values()), [502] * 20)
        attempts = sum(b.request_count for b in backends)
        # Without the budget: 60 attempts. With it: the 20 first ones and
        # the few retries two at a time could add while they failed.
        self.assertLessEqual(attempts, 20 + 2 * 3, f"{attempts} attempts")
        exhausted = self.metrics().value("lbd_retry_budget_exhausted_total", pool="app")
        self.assertGreaterEqual(exhausted, 14)

    def dead_backend_among_two(self, max_fails):
        """One of three backends resets every request; a budget that allows
        no retry at all; passive ejection after `max_fails` failures. Six
        requests one after another: round robin would send the dead one two."""
        dead = self.backend(reset_after_request)
        self.start_lbd(config([pool(
            "app", [dead] + self.backends(2), retries=2, retry_budget={"percent": 0, "min_retries": 0},
            passive={"max_fails": max_fails, "fail_timeout": "60s"})]))
        statuses = [get(self.lbd.port)[0] for _ in range(6)]
        exhausted = self.metrics().value("lbd_retry_budget_exhausted_total", pool="app")
        return statuses, dead.request_count, exhausted

    def test_a_retry_away_from_a_backend_its_failure_ejected_costs_no_budget(self):
        statuses, dead_requests, exhausted = self.dead_backend_among_two(max_fails=1)
        self.assertEqual(statuses, [200] * 6)
        self.assertEqual(dead_requests, 1, "an ejected backend got requests")
        self.assertEqual(exhausted, 0)

    def test_failures_before_the_ejection_are_held_to_the_budget(self):
        statuses, dead_requests, exhausted = self.dead_backend_among_two(max_fails=2)
        self.assertEqual(sorted(statuses), [200] * 5 + [502], statuses)  # the first failure: no budget
        self.assertEqual(dead_requests, 2)
        self.assertEqual(exhausted, 1)

    def test_retry_on_status_sends_a_busy_answer_elsewhere(self):
        busy = self.backend(respond(503, b"busy\n", [("Retry-After", "1")]))
        good = self.backend(echo)
        self.start_lbd(config([pool("app", [busy, good], retry_on_status=[503], passive={"max_fails": 0})]))
        c = self.client()
        for _ in range(4):
            r = c.request("POST", "/chat", body=b'{"prompt": "hi"}')
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(json.loads(r.body)["body"], '{"prompt": "hi"}')
        self.assertGreaterEqual(busy.request_count, 1)

    def test_without_retry_on_status_the_503_is_relayed(self):
        busy = self.backend(respond(503, b"busy\n"))
        self.start_lbd(config([pool("app", [busy], passive={"max_fails": 0})]))
        r = self.client().request("GET", "/")
        self.assertEqual((r.status, r.body), (503, b"busy\n"))

    def test_a_lone_failing_backend_is_never_passively_ejected(self):
        backend = self.backend(lambda ex, req: ex.reset() or False)
        self.start_lbd(config([pool("app", [backend], retries=0,
                                    passive={"max_fails": 1, "fail_timeout": "10s"})]))
        for _ in range(4):
            status, _, _, _ = get(self.lbd.port)
            self.assertEqual(status, 502)  # the backend's failure, never "no backend" 503
        self.assertEqual(backend.request_count, 4)

    def test_ejection_stops_at_max_ejected_percent(self):
        failing = self.backends(2, lambda ex, req: ex.reset() or False)
        self.start_lbd(config([pool("app", failing, retries=0,
                                    passive={"max_fails": 1, "fail_timeout": "30s",
                                             "max_ejected_percent": 50})]))
        for _ in range(6):
            get(self.lbd.port)
        states = [b["state"] for b in api_pools(self.lbd)["pools"][0]["backends"]]
        self.assertEqual(sorted(states), ["ejected", "up"])

    def test_the_queue_keeps_its_line_across_a_reload(self):
        gauge = Gauge(0.15)
        backend = self.backend(gauge.handler)
        cfg = two_workers(config([self.queued_pool([backend], 1, {"max": 100, "timeout": "20s"})]))
        self.start_lbd(cfg)
        results = {}
        threads = [threading.Thread(target=get, args=(self.lbd.port, "/", [("X-Seq", str(i))], results, i))
                   for i in range(8)]
        for t in threads:
            t.start()
            time.sleep(0.02)
        self.assertTrue(wait_until(lambda: self.metrics().value("lbd_pool_queue_length", pool="app") >= 3, 5))
        cfg["pools"][0]["queue"]["timeout"] = "19s"  # a change, so the reload builds a new snapshot
        reload_config(self.lbd)
        for i in range(8, 12):  # newcomers on the new snapshot queue behind those already waiting
            t = threading.Thread(target=get, args=(self.lbd.port, "/", [("X-Seq", str(i))], results, i))
            threads.append(t)
            t.start()
            time.sleep(0.02)
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(r[0] for r in results.values()), [200] * 12, results)
        self.assertEqual(gauge.peak, 1)
        order = [int(seq) for seq, _ in gauge.seen]
        for position, seq in enumerate(order):
            self.assertLessEqual(abs(position - seq), 1, f"served in order {order}")

    def test_a_websocket_tunnel_holds_its_slot_until_it_closes(self):
        def upgrade(ex, req):
            if req.header("Upgrade"):
                ex.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        b"Connection: Upgrade\r\n\r\n")
                ex.backend.stopping.wait(3)  # the tunnel stays open, silent
                return False
            return echo(ex, req)
        backend = self.backend(upgrade)
        self.start_lbd(config([self.queued_pool([backend], 1, {"max": 0})]))
        ws = HttpClient(self.lbd.port)
        ws.send(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.assertEqual(ws.read_response(interim=True).status, 101)
        self.assertEqual(api_pools(self.lbd)["pools"][0]["backends"][0]["in_flight"], 1)
        status, retry_after, _, _ = get(self.lbd.port)  # the backend is full while the tunnel lives
        self.assertEqual((status, retry_after), (503, "1"))
        ws.close()
        self.assertTrue(wait_until(
            lambda: api_pools(self.lbd)["pools"][0]["backends"][0]["in_flight"] == 0, 5))
        self.assertEqual(get(self.lbd.port)[0], 200)

    def test_max_requests_set_through_the_admin_api_lasts_until_reload(self):
        gauge = Gauge(0.2)
        backend = self.backend(gauge.handler)
        cfg = config([self.queued_pool([backend], 0, {"max": 50, "timeout": "10s"})])
        self.start_lbd(two_workers(cfg))
        path = f"/api/pools/app/backends/{backend.name}"
        client = HttpClient(self.lbd.admin_port)
        self.addCleanup(client.close)
        r = client.request("PUT", path, [("Content-Type", "application/json")], b'{"max_requests": 1}',
                           host="127.0.0.1")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(json.loads(r.body)["max_requests"], 1)
        bad = client.request("PUT", path, [], b'{"max_requests": -1}', host="127.0.0.1")
        self.assertEqual(bad.status, 400)
        results = {}
        run_all([threading.Thread(target=get, args=(self.lbd.port, "/", (), results, i)) for i in range(6)])
        self.assertEqual(sorted(r[0] for r in results.values()), [200] * 6)
        self.assertEqual(gauge.peak, 1)
        reload_config(self.lbd)  # the file says no cap
        self.assertEqual(api_pools(self.lbd)["pools"][0]["backends"][0]["max_requests"], 0)


if __name__ == "__main__":
    unittest.main()
