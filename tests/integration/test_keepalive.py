"""Keep-alive on both sides of lbd, HTTP/1.0 and Connection: close honoured,
and stale pooled upstream connections handled (issue 2 §3, §4)."""
import time
import unittest

from httpwire import HttpClient, build_request, wait_until
from lbd_harness import (LbdTestCase, config, echoed, lbd_has_asan, memory_test_env, pool, raise_fd_limit,
                         rss_tells_lbds_memory)
import fake_backend as fb


class ClientKeepAliveTest(LbdTestCase):
    def test_many_requests_on_one_client_connection(self):
        self.proxy([self.backend()])
        client = self.client()
        for i in range(10):
            self.assertEqual(echoed(client.request("GET", f"/{i}"))["target"], f"/{i}")
        self.assertFalse(client.closed_within(0.2))

    def test_connection_close_honoured(self):
        backend = self.backend()
        self.proxy([backend])
        client = self.client()
        resp = client.request("GET", "/", headers=[("Connection", "close")])
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.has_token("Connection", "close"), resp.headers)
        self.assertClosedPromptly(client)

    def test_http10_without_keepalive_closes(self):
        self.proxy([self.backend()])
        client = self.client()
        client.send(build_request("GET", "/old", version="HTTP/1.0", host=None))
        resp = client.read_response()
        self.assertEqual(echoed(resp)["target"], "/old")
        self.assertClosedPromptly(client)

    def test_backend_closing_does_not_close_client(self):
        self.proxy([self.backend(fb.respond(200, b"bye", framing="length",
                                            headers=[("Connection", "close")]))])
        client = self.client()
        for _ in range(3):
            self.assertEqual(client.request().body, b"bye")

    def test_idle_client_connection_closed_after_idle_timeout(self):
        cfg = config([pool("app", [self.backend()])])
        cfg["listeners"][0]["timeouts"]["idle"] = "1s"
        self.start_lbd(cfg)
        client = self.client()
        self.assertEqual(client.request().status, 200)
        self.assertFalse(client.closed_within(0.3), "closed long before timeouts.idle")
        self.assertTrue(client.closed_within(4), "still open 4s past timeouts.idle")


class IdleClientMemoryTest(LbdTestCase):
    """What an idle keep-alive client costs lbd (README "Memory per
    connection"): it waits with its socket, one deadline and its addresses;
    the parser, writer, input and the other deadlines go back to the
    worker's cache once its response is written."""

    CLIENTS = 2000
    # The waiting part is 536 bytes, plus the allocator's header and libuv's
    # slot for the fd. A connection that kept all of its state cost 1.2 KiB.
    MAX_KIB_EACH = 0.8

    @unittest.skipUnless(rss_tells_lbds_memory() and not lbd_has_asan(),
                         "sanitizers' shadow memory and redzones are counted in RSS")
    def test_idle_keepalive_clients_cost_under_0_8_kib_each(self):
        if raise_fd_limit() < self.CLIENTS + 200:
            self.skipTest("needs RLIMIT_NOFILE above the client count")
        cfg = config([pool("app", [self.backend()])])
        lc = cfg["listeners"][0]
        lc["timeouts"]["idle"] = "60s"
        lc["limits"]["max_connections"] = self.CLIENTS + 100
        cfg["log"]["access_log"] = "off"
        lbd = self.start_lbd(cfg, extra_env=memory_test_env())
        # The worker's caches and the upstream connection exist before the count starts.
        for _ in range(20):
            warm = HttpClient(lbd.port)
            self.assertEqual(warm.request().status, 200)
            warm.close()
        time.sleep(0.3)
        before = lbd.rss_kib()
        clients = []
        for _ in range(self.CLIENTS):
            client = HttpClient(lbd.port)
            self.addCleanup(client.close)
            self.assertEqual(client.request().status, 200)
            clients.append(client)
        time.sleep(0.5)
        each = (lbd.rss_kib() - before) / self.CLIENTS
        self.assertLess(each, self.MAX_KIB_EACH, f"{each:.2f} KiB of RSS per idle client connection")
        # Still idle, still open: and each goes busy again for its next request.
        for client in clients[:: self.CLIENTS // 20]:
            self.assertEqual(client.request().status, 200)


class UpstreamKeepAliveTest(LbdTestCase):
    def test_sequential_requests_reuse_upstream_connections(self):
        backend = self.backend()
        self.proxy([backend])
        for i in range(20):
            self.assertEqual(self.client().request("GET", f"/{i}").status, 200)
        self.assertEqual(backend.request_count, 20)
        self.assertLessEqual(backend.connections, 2)

    def test_backend_connection_close_is_not_reused(self):
        # RFC 9112 §9.6: after a response with Connection: close, no further
        # request may go on that connection, even if the backend lingers.
        lingering = fb.raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye")
        backend = self.backend(lingering)
        self.proxy([backend])
        client = self.client()
        for _ in range(3):
            self.assertEqual(client.request().body, b"bye")
        self.assertEqual(backend.connections, 3)

    def test_pooled_connection_closed_by_backend_is_replaced(self):
        backend = self.backend(idle_close=0.2)
        self.proxy([backend], keepalive={"max_idle": 16, "idle_timeout": "30s"})
        for i in range(4):
            method = "POST" if i % 2 else "GET"  # POST too: it was never sent before
            doc = echoed(self.client().request(method, f"/{i}", body=b"x" * i))
            self.assertEqual((doc["method"], doc["target"]), (method, f"/{i}"))
            time.sleep(0.6)  # the backend closes the idle pooled connection
        self.assertEqual(backend.request_count, 4)
        self.assertEqual(backend.connections, 4)

    def test_pooled_connection_closed_after_idle_timeout(self):
        backend = self.backend()
        self.proxy([backend], keepalive={"max_idle": 16, "idle_timeout": "500ms"})
        self.assertEqual(self.client().request().status, 200)
        self.assertTrue(wait_until(lambda: backend.peer_closes == 1, 4),
                        "lbd kept the idle upstream connection past keepalive.idle_timeout")

    def test_max_idle_zero_disables_pooling(self):
        backend = self.backend()
        self.proxy([backend], keepalive={"max_idle": 0, "idle_timeout": "30s"})
        for _ in range(3):
            self.assertEqual(self.client().request().status, 200)
        self.assertEqual(backend.connections, 3)


if __name__ == "__main__":
    unittest.main()
