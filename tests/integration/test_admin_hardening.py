"""The admin listener under abuse (issue 12, defect 6): a connection that
sends nothing is closed after the 10 s header timeout; past 64 open
connections new ones wait in the backlog and are served once others close;
SIGTERM closes every admin connection, so a scraper's keep-alive
connection or a crowd of silent ones cannot hold lbd up."""
import select
import signal
import socket
import time

from httpwire import HttpClient, build_request, get
from lbd_harness import LbdTestCase, config, pool

HEADER_TIMEOUT = 10.0   # lb/admin/admin_server.h AdminLimits
MAX_CONNECTIONS = 64


def open_silent(port, n):
    """n connections that never send a byte; (socket, opened_at) pairs."""
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        conns.append((s, time.monotonic()))
    return conns


def wait_closed(socks, timeout):
    """When each socket saw the peer close (FIN or RST), by socket; sockets
    still open after timeout are missing. Data from the peer is kept."""
    closed, data = {}, {s: b"" for s in socks}
    deadline = time.monotonic() + timeout
    while len(closed) < len(socks) and time.monotonic() < deadline:
        open_ = [s for s in socks if s not in closed]
        readable, _, _ = select.select(open_, [], [], 0.2)
        for s in readable:
            try:
                chunk = s.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if chunk:
                data[s] += chunk
            else:
                closed[s] = time.monotonic()
    return closed, data


class AdminHardeningTest(LbdTestCase):
    def start(self):
        lbd = self.start_lbd(config([pool("app", [self.backend()])]))
        return lbd

    def close_all(self, conns):
        for s, _ in conns:
            s.close()

    def test_silent_and_stalled_connections_are_closed_after_the_header_timeout(self):
        lbd = self.start()
        silent = open_silent(lbd.admin_port, 40)
        self.addCleanup(self.close_all, silent)
        partial = socket.create_connection(("127.0.0.1", lbd.admin_port), timeout=5)
        self.addCleanup(partial.close)
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the head never ends
        partial_opened = time.monotonic()
        # An idle keep-alive connection after a response has the same time.
        keepalive = HttpClient(lbd.admin_port)
        self.addCleanup(keepalive.close)
        self.assertEqual(keepalive.request("GET", "/healthz").status, 200)
        idle_since = time.monotonic()
        # Meanwhile the listener serves others.
        self.assertEqual(get(lbd.admin_port, "/healthz").status, 200)

        socks = [s for s, _ in silent] + [partial, keepalive.sock]
        closed, data = wait_closed(socks, HEADER_TIMEOUT + 4)
        self.assertEqual(len(closed), len(socks), f"{len(socks) - len(closed)} connection(s) still open")
        for s, opened in silent:
            self.assertGreater(closed[s] - opened, HEADER_TIMEOUT - 0.5, "closed before the header timeout")
            self.assertEqual(data[s], b"")
        self.assertGreater(closed[partial] - partial_opened, HEADER_TIMEOUT - 0.5)
        self.assertTrue(data[partial].startswith(b"HTTP/1.1 408 "), data[partial])
        self.assertGreater(closed[keepalive.sock] - idle_since, HEADER_TIMEOUT - 0.5)
        self.assertEqual(data[keepalive.sock], b"")
        self.assertEqual(get(lbd.admin_port, "/healthz").status, 200)

    def test_connections_beyond_the_cap_wait_and_do_not_starve_healthz(self):
        lbd = self.start()
        crowd = open_silent(lbd.admin_port, MAX_CONNECTIONS + 10)
        self.addCleanup(self.close_all, crowd)
        probe = HttpClient(lbd.admin_port, timeout=5)  # connects: the kernel's backlog takes it
        self.addCleanup(probe.close)
        probe.send(build_request("GET", "/healthz"))
        probe.sock.settimeout(0.5)
        with self.assertRaises(socket.timeout, msg="answered past the connection limit"):
            probe.sock.recv(1)
        self.assertIn(f"admin listener: {MAX_CONNECTIONS} connections open", lbd.stderr())

        # 20 of the crowd leave: the 10 queued behind them and the probe get in.
        for s, _ in crowd[:20]:
            s.close()
        probe.sock.settimeout(3)
        started = time.monotonic()
        self.assertEqual(probe.read_response().status, 200)
        self.assertLess(time.monotonic() - started, 2.0)

    def test_sigterm_closes_a_scrapers_keepalive_connection_and_lbd_exits_at_once(self):
        lbd = self.start()
        scraper = HttpClient(lbd.admin_port)
        self.addCleanup(scraper.close)
        for _ in range(3):
            resp = scraper.request("GET", "/metrics")
            self.assertEqual(resp.status, 200)
            self.assertFalse(resp.has_token("Connection", "close"))
        # Silent ones too, more than the limit: some accepted, some queued.
        silent = open_silent(lbd.admin_port, MAX_CONNECTIONS + 36)
        self.addCleanup(self.close_all, silent)
        time.sleep(0.2)

        stopped_at = time.monotonic()
        lbd.signal(signal.SIGTERM)
        self.assertEqual(lbd.wait(5), 0, lbd.stderr())
        took = time.monotonic() - stopped_at
        self.assertLess(took, 2.0, f"lbd took {took:.1f} s to exit")
        self.assertTrue(scraper.closed_within(1), "scraper connection left open")


if __name__ == "__main__":
    import unittest
    unittest.main()
