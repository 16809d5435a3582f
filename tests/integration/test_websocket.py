"""WebSocket tunnels through lbd (issue 8 §2): the handshake reaches the
backend with its upgrade headers, after 101 bytes flow both ways unchanged
(also those sent right behind either head), closing either side closes the
other, a refused upgrade is an ordinary response, an idle tunnel times out,
and a thousand tunnels at once all echo.

The WebSocket client (wsclient.py) takes a socket factory; the TLS variant
passes one that wraps the socket."""
import resource
import socket
import threading
import time
import unittest

from demo_backends import DemoBackend
from httpwire import build_request, wait_until
from lbd_harness import LbdTestCase, config, pool, echoed, header_values
from prom_text import scrape
import wsclient
from wsclient import WebSocket

TUNNELS = 1000


def raise_fd_limit(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class GreetingBackend:
    """Accepts one connection, answers the handshake with 101 and, in the same
    write, a first frame; then echoes raw bytes until EOF, and closes."""

    GREETING = wsclient.frame(wsclient.TEXT, b"welcome", mask=False)

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.name = "greeter"
        self.request = b""
        self.saw_eof = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            self.request = head
            key = [l.split(b":", 1)[1].strip().decode() for l in head.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key:")][0]
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                         + wsclient.accept_value(key).encode() + b"\r\n\r\n" + self.GREETING)
            if rest:
                conn.sendall(rest)
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                conn.sendall(chunk)
            self.saw_eof.set()

    def stop(self):
        self.listener.close()


class FloodBackend(GreetingBackend):
    """After the 101, sends as fast as the tunnel takes it, until a send has
    been blocked for a second; counts what it got rid of."""

    def __init__(self):
        self.sent = 0
        self.blocked = threading.Event()
        super().__init__()

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            key = [l.split(b":", 1)[1].strip().decode() for l in data.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key:")][0]
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                         + wsclient.accept_value(key).encode() + b"\r\n\r\n")
            conn.settimeout(1.0)
            chunk = b"f" * 65536
            deadline = time.monotonic() + 20
            try:
                while time.monotonic() < deadline:
                    self.sent += conn.send(chunk)
            except socket.timeout:
                pass
            self.blocked.set()
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):
                pass


class WebSocketTest(LbdTestCase):
    def demo_backend(self, name="ws1"):
        b = DemoBackend(name)
        self.addCleanup(b.stop)
        return b

    def open(self, path="/ws", **kw):
        ws = WebSocket.open(wsclient.tcp_factory(self.lbd.port), path, **kw)
        self.addCleanup(ws.abandon)
        return ws

    def test_messages_echo_both_ways_and_the_tunnel_is_logged(self):
        backend = self.demo_backend()
        self.proxy([backend])
        ws = self.open()
        self.assertEqual(ws.response_head.get("x-backend"), "ws1")
        self.assertEqual(ws.response_head.get("upgrade", "").lower(), "websocket")
        messages = ["hello", "ünïcödé", "x" * 125, "y" * 126, "z" * 70000, bytes(range(256)) * 4096]
        for m in messages:
            ws.send(m)
            self.assertEqual(ws.recv(), m)
        metrics = scrape(self.lbd.admin_port)
        self.assertEqual(metrics.value("lbd_tunnels_active", listener="web"), 1)
        self.assertEqual(metrics.value("lbd_tunnels_total", listener="web"), 1)
        self.assertEqual(metrics.value("lbd_requests_total", listener="web", code="1xx"), 0)  # counted at its end
        self.assertEqual(ws.close(1000), 1000)
        self.assertTrue(ws.wait_eof(3), "lbd kept the client open after the close handshake")
        sent = sum(len(m.encode() if isinstance(m, str) else m) for m in messages)
        ws.abandon()  # our half: the tunnel is closed both ways now
        self.assertTrue(wait_until(
            lambda: scrape(self.lbd.admin_port).value("lbd_tunnels_active", listener="web") == 0, 5))
        metrics = scrape(self.lbd.admin_port)
        self.assertEqual(metrics.value("lbd_tunnels_total", listener="web"), 1)
        self.assertEqual(metrics.value("lbd_requests_total", listener="web", code="1xx"), 1)
        self.lbd.stop()  # flushes the access log
        lines = [e for e in self.lbd.access_log() if e["status"] == 101]
        self.assertEqual(len(lines), 1, self.lbd.stdout())
        line = lines[0]
        self.assertEqual((line["method"], line["path"], line["backend"]), ("GET", "/ws", "ws1"))
        self.assertGreater(line["bytes_in"], sent)   # masked frames plus the handshake
        self.assertGreater(line["bytes_out"], sent)  # frames plus the 101 head
        # Ended by the close, not by timeouts.idle (5 s) or the stop.
        self.assertGreater(line["duration_ms"], 0)
        self.assertLess(line["duration_ms"], 4000)

    def test_backend_receives_the_upgrade_headers(self):
        backend = GreetingBackend()
        self.addCleanup(backend.stop)
        self.proxy([backend])
        ws = self.open("/chat", extra_headers=[("Sec-WebSocket-Protocol", "chat")])
        request = backend.request.decode().lower()
        self.assertIn("\r\nconnection: upgrade\r\n", request)
        self.assertIn("\r\nupgrade: websocket\r\n", request)
        self.assertIn("\r\nsec-websocket-protocol: chat\r\n", request)
        self.assertIn("\r\nx-forwarded-for: 127.0.0.1\r\n", request)
        ws.abandon()

    def test_bytes_right_behind_either_head_are_not_lost(self):
        backend = GreetingBackend()
        self.addCleanup(backend.stop)
        self.proxy([backend])
        # The client's frame rides in the handshake's write; the backend's
        # greeting rides in the 101's write.
        ws = self.open(send_with_handshake=wsclient.frame(wsclient.BINARY, b"early", mask=False))
        self.assertEqual(ws.recv(), "welcome")
        self.assertEqual(ws.recv(), b"early")
        ws.sock.sendall(wsclient.frame(wsclient.TEXT, b"later", mask=False))
        self.assertEqual(ws.recv(), "later")

    def test_client_half_close_reaches_the_backend_and_its_close_comes_back(self):
        backend = GreetingBackend()
        self.addCleanup(backend.stop)
        self.proxy([backend])
        ws = self.open()
        self.assertEqual(ws.recv(), "welcome")
        ws.sock.sendall(wsclient.frame(wsclient.TEXT, b"last", mask=False))
        ws.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(backend.saw_eof.wait(3), "the client's FIN did not reach the backend")
        # The backend still answered after the client's FIN (half-close), then closed.
        self.assertEqual(ws.recv(), "last")
        self.assertTrue(ws.wait_eof(3), "the backend's close did not reach the client")

    def test_backend_close_closes_the_client(self):
        self.proxy([self.demo_backend()])
        ws = self.open("/ws?close_after=2")
        ws.send("one")
        ws.send("two")
        self.assertEqual(ws.recv(), "one")
        self.assertEqual(ws.recv(), "two")
        opcode, payload = ws.recv_frame()
        self.assertEqual((opcode, payload), (wsclient.CLOSE, b"\x03\xe8"))
        self.assertTrue(ws.wait_eof(3), "the backend closed but the client was kept open")

    def test_client_disappearing_closes_the_backend_side(self):
        backend = GreetingBackend()
        self.addCleanup(backend.stop)
        self.proxy([backend])
        ws = self.open()
        self.assertEqual(ws.recv(), "welcome")
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        ws.sock.close()  # a reset, not a FIN
        self.assertTrue(backend.saw_eof.wait(3), "the backend connection outlived the client")

    def test_a_client_that_does_not_read_holds_the_backend_back(self):
        backend = FloodBackend()
        self.addCleanup(backend.stop)
        self.proxy([backend])

        def small_buffers():
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            sock.settimeout(5)
            sock.connect(("127.0.0.1", self.lbd.port))
            return sock

        ws = WebSocket.open(small_buffers)
        self.addCleanup(ws.abandon)
        self.assertTrue(backend.blocked.wait(25), "the backend was never held back")
        # Socket buffers on the way hold a few MiB; lbd queues at most 256 KiB.
        self.assertLess(backend.sent, 32 * 1024 * 1024, "lbd kept reading the backend for a client that does not read")
        received = len(ws._buf)
        ws.sock.settimeout(5)
        while True:  # everything that left the backend arrives, then its FIN
            chunk = ws.sock.recv(1 << 20)
            if not chunk:
                break
            received += len(chunk)
        self.assertEqual(received, backend.sent)

    def test_refused_upgrade_is_relayed_as_a_normal_response(self):
        self.proxy([self.demo_backend()])
        with self.assertRaises(wsclient.HandshakeRefused) as refused:
            WebSocket.open(wsclient.tcp_factory(self.lbd.port), "/status/403")
        self.assertEqual(refused.exception.status, 403)
        self.assertNotIn("upgrade", refused.exception.head)
        self.assertEqual(refused.exception.rest, b"403 Forbidden\n")

    def test_a_101_nobody_asked_for_is_a_502(self):
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)

        def serve():
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\n\r\nnot http")
                conn.recv(65536)

        threading.Thread(target=serve, daemon=True).start()
        self.proxy(["127.0.0.1:%d" % listener.getsockname()[1]], retries=0)
        client = self.client()
        client.send(build_request("GET", "/plain"))
        self.assertEqual(client.read_response().status, 502)

    def test_h2c_upgrade_is_not_forwarded(self):
        self.proxy([self.backend()])
        client = self.client()
        client.send(build_request("GET", "/", [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
                                                ("HTTP2-Settings", "AAMAAABkAAQAAP__")]))
        doc = echoed(client.read_response())
        self.assertEqual(header_values(doc, "Upgrade"), [])
        self.assertEqual(header_values(doc, "HTTP2-Settings"), [])

    def test_idle_tunnel_is_closed_after_timeouts_idle(self):
        cfg = config([pool("app", [self.demo_backend()])])
        cfg["listeners"][0]["timeouts"]["idle"] = "1s"
        self.start_lbd(cfg)
        ws = self.open()
        for _ in range(3):  # traffic keeps it open past the timeout
            time.sleep(0.5)
            ws.send("tick")
            self.assertEqual(ws.recv(), "tick")
        start = time.monotonic()
        self.assertTrue(ws.wait_eof(5), "an idle tunnel stayed open")
        self.assertGreater(time.monotonic() - start, 0.8)

    def test_a_thousand_concurrent_tunnels_echo(self):
        if raise_fd_limit(4 * TUNNELS + 256) < 3 * TUNNELS + 256:
            self.skipTest("RLIMIT_NOFILE too low for this many tunnels")
        cfg = config([pool("app", [self.demo_backend("a"), self.demo_backend("b")])])
        cfg["listeners"][0]["limits"]["max_connections"] = TUNNELS + 100
        self.start_lbd(cfg)
        deadline = time.monotonic() + 60
        tunnels = []
        for _ in range(TUNNELS):
            tunnels.append(self.open())
            self.assertLess(time.monotonic(), deadline, f"only {len(tunnels)} tunnels opened in time")
        self.assertEqual({t.response_head["x-backend"] for t in tunnels}, {"a", "b"})
        for rnd in range(2):  # every tunnel is open at once: send on all, then read all
            for i, t in enumerate(tunnels):
                t.send(f"tunnel {i} round {rnd}")
            for i, t in enumerate(tunnels):
                self.assertEqual(t.recv(), f"tunnel {i} round {rnd}")
            self.assertLess(time.monotonic(), deadline, "echo rounds too slow")
        for t in tunnels:
            t.abandon()


if __name__ == "__main__":
    unittest.main()
