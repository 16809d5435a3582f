"""How lbd ends long streams it must end (issue 16, streams across reload,
drain and stop): after shutdown_timeout, at SIGTERM or once their backend
was drained through the admin API or removed by a reload. An SSE stream gets
"retry:" and an "event: error" before its clean end; a WebSocket gets a Close
frame, 1001 (going away) at stop and 1012 (service restart) for a drained
backend, put between two frames, and the backend a masked Close 1001.
Streams on other backends go on. Clients are raw sockets that parse what
arrives."""
import socket
import struct
import threading
import time
import unittest

from health_helpers import set_admin_state
from lbd_harness import LbdTestCase, config, pool, reload_config
from prom_text import scrape
from test_streams import StreamClient, parse_sse, sse_backend
import wsclient
from wsclient import WebSocket

SHUTDOWN = "1s"


def server_frame(opcode, payload):
    return wsclient.frame(opcode, payload, mask=False)


class TickingWsBackend:
    """A WebSocket backend: answers the handshake, then sends a text frame
    "NAME tick N" every 100 ms. With `split_at_stop`, the frame it is sending when
    `hold` is set goes out in two halves 600 ms apart (a frame in flight at
    the deadline). Records every frame it receives (unmasked)."""

    def __init__(self, name):
        self.name = name
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.received = []  # (opcode, payload, was_masked)
        self.hold = threading.Event()
        self.split_sent = threading.Event()
        self.split_at_stop = False
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head = data.partition(b"\r\n\r\n")[0]
            key = [l.split(b":", 1)[1].strip().decode() for l in head.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key:")][0]
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + wsclient.accept_value(key).encode() + b"\r\n\r\n")
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()
            n = 0
            try:
                while not self.done.is_set():
                    n += 1
                    f = server_frame(wsclient.TEXT, b"%s tick %d" % (self.name.encode(), n))
                    if self.split_at_stop and self.hold.is_set() and not self.split_sent.is_set():
                        conn.sendall(f[:4])
                        time.sleep(0.6)
                        self.split_sent.set()
                        conn.sendall(f[4:])
                    else:
                        conn.sendall(f)
                    time.sleep(0.1)
            except OSError:
                pass
            self.done.wait(5)

    def _read(self, conn):
        buf = b""
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 2:
                    n, at, masked = buf[1] & 0x7F, 2, bool(buf[1] & 0x80)
                    if n >= 126:
                        break  # the tests send small frames only
                    if masked:
                        at += 4
                    if len(buf) < at + n:
                        break
                    payload = buf[at:at + n]
                    if masked:
                        key = buf[at - 4:at]
                        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
                    self.received.append((buf[0] & 0x0F, payload, masked))
                    buf = buf[at + n:]
        except OSError:
            pass
        self.done.set()

    def close_code(self):
        for opcode, payload, masked in self.received:
            if opcode == wsclient.CLOSE:
                return struct.unpack("!H", payload[:2])[0], masked
        return None

    def stop(self):
        self.done.set()
        self.listener.close()


def read_until_close(ws, timeout=5):
    """(data frames before the Close, the Close code, whether TCP then ended)."""
    ws.sock.settimeout(timeout)
    frames = []
    while True:
        opcode, payload = ws.recv_frame()
        if opcode == wsclient.CLOSE:
            code = struct.unpack("!H", payload[:2])[0]
            return frames, code, ws.wait_eof(3)
        frames.append(payload)


class StreamEndsTest(LbdTestCase):
    def ws_backend(self, name):
        b = TickingWsBackend(name)
        self.addCleanup(b.stop)
        return b

    def ws_open(self):
        ws = WebSocket.open(wsclient.tcp_factory(self.lbd.port), "/ws")
        self.addCleanup(ws.abandon)
        first = ws.recv()
        self.assertTrue(first.endswith(" tick 1"), first)
        return ws, first.split()[0]

    def test_at_stop_a_websocket_gets_close_1001_after_shutdown_timeout(self):
        backend = self.ws_backend("ws")
        cfg = config([pool("app", [backend], retries=0)])
        cfg["shutdown_timeout"] = SHUTDOWN
        lbd = self.start_lbd(cfg)
        ws, _ = self.ws_open()
        started = time.monotonic()
        lbd.signal()
        frames, code, eof = read_until_close(ws)
        took = time.monotonic() - started
        self.assertEqual(code, 1001)
        self.assertTrue(eof, "lbd closes the connection after its Close")
        self.assertGreaterEqual(took, 0.9, "the stream keeps running until shutdown_timeout")
        self.assertLess(took, 2.5)
        self.assertGreater(len(frames), 3, "ticks kept flowing until then")
        self.assertTrue(all(f.startswith(b"ws tick ") for f in frames), frames)
        self.assertTrue(backend.done.wait(3))
        self.assertEqual(backend.close_code(), (1001, True), "the backend gets a masked Close 1001")
        self.assertEqual(lbd.wait(10), 0)

    def test_a_frame_in_flight_at_the_deadline_ends_whole_before_the_close(self):
        backend = self.ws_backend("ws")
        backend.split_at_stop = True
        cfg = config([pool("app", [backend], retries=0)])
        cfg["shutdown_timeout"] = "500ms"
        lbd = self.start_lbd(cfg)
        ws, _ = self.ws_open()
        threading.Timer(0.35, backend.hold.set).start()  # the split frame straddles the deadline
        lbd.signal()
        frames, code, _ = read_until_close(ws)
        self.assertTrue(backend.split_sent.is_set())
        self.assertEqual(code, 1001)
        self.assertTrue(all(f.startswith(b"ws tick ") for f in frames), frames)  # the split one arrived whole
        numbers = [int(f.split()[2]) for f in frames]
        self.assertEqual(numbers, list(range(2, 2 + len(numbers))), "no frame lost or cut")
        self.assertEqual(lbd.wait(10), 0)

    def test_a_drained_backends_websocket_gets_close_1012_others_go_on(self):
        a, b = self.ws_backend("a"), self.ws_backend("b")
        cfg = config([pool("app", [a, b], retries=0)])
        cfg["shutdown_timeout"] = SHUTDOWN
        lbd = self.start_lbd(cfg)
        opened = dict(reversed(self.ws_open()) for _ in range(2))  # round robin: one on each
        self.assertEqual(set(opened), {"a", "b"})
        ws_a, ws_b = opened["a"], opened["b"]
        started = time.monotonic()
        self.assertEqual(set_admin_state(lbd, "app", "a", "drain").status, 200)
        frames, code, eof = read_until_close(ws_a)
        took = time.monotonic() - started
        self.assertEqual(code, 1012)
        self.assertTrue(eof)
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 2.5)
        self.assertGreater(len(frames), 3)
        self.assertTrue(a.done.wait(3))
        self.assertEqual(a.close_code(), (1001, True))
        # The stream on the backend that stays is untouched.
        ws_b.sock.settimeout(2)
        for _ in range(3):
            self.assertTrue(ws_b.recv().startswith("b tick "))
        self.assertIsNone(b.close_code())
        m = scrape(lbd.admin_port)
        self.assertEqual(m.value("lbd_streams_ended_total", pool="app", backend="a"), 1)
        self.assertEqual(m.value("lbd_streams_ended_total", pool="app", backend="b"), 0)

    def test_sse_streams_of_a_drained_or_removed_backend_end_with_retry_others_go_on(self):
        def script(send, backend):
            for i in range(200):
                send(b"data: %s %d\n\n" % (backend.name.encode(), i))
                if backend.stopping.wait(0.05):
                    break
        a, b, c = (self.backend(sse_backend(script), name=n) for n in ("a", "b", "c"))
        cfg = config([pool("app", [a, b, c], retries=0, timeouts={"connect": "1s", "response": "30s"})])
        cfg["shutdown_timeout"] = SHUTDOWN
        lbd = self.start_lbd(cfg)
        streams = [StreamClient(lbd.port) for _ in range(3)]  # round robin: a, b, c
        time.sleep(0.3)
        started = time.monotonic()
        self.assertEqual(set_admin_state(lbd, "app", "a", "drain").status, 200)
        del cfg["pools"][0]["backends"][2]  # c leaves the pool; b stays
        reload_config(lbd)
        results = {}

        def read(i):
            results[i] = streams[i].read_all(timeout=4)
        threads = [threading.Thread(target=read, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(6)
        took = time.monotonic() - started
        by_backend = {parse_sse(r.body)[0][0][1].split()[0]: r for r in results.values()}
        self.assertEqual(set(by_backend), {"a", "b", "c"})  # round robin: one on each
        for name in ("a", "c"):
            s = by_backend[name]
            self.assertTrue(s.complete, f"{name}: {s.raw[-200:]!r}")
            self.assertIn(b"retry: 1000\n", s.body)
            events, _ = parse_sse(s.body)
            self.assertEqual(events[-1], ("error", '{"error": "backend_drained"}'), name)
            self.assertTrue(all(d.startswith(name + " ") for t, d in events[:-1]), events[:3])
            self.assertGreater(len(events), 10, f"{name} ran until shutdown_timeout")
        s = by_backend["b"]  # read for 4 s, still going, no error
        self.assertEqual(s.ending, "timeout")
        events, _ = parse_sse(s.body)
        self.assertNotIn("error", [t for t, _ in events])
        self.assertGreater(len(events), 40)
        self.assertLess(took, 8)
        m = scrape(lbd.admin_port)
        self.assertEqual(m.value("lbd_streams_ended_total", pool="app", backend="a"), 1)
        self.assertEqual(m.value("lbd_streams_ended_total", pool="app", backend="b"), 0)


if __name__ == "__main__":
    unittest.main()
