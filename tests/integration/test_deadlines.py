"""Each direction of a client connection has its own deadline (issue 12 §4,
nginx's client_header_timeout / client_body_timeout / keepalive_timeout /
send_timeout / lingering_timeout): a client that stops reading is cut after
timeouts.send, while a slow reader that keeps taking bytes gets its whole
response, however long the keep-alive idle or the linger time."""
import socket
import time

from fake_backend import endless_body, respond
from httpwire import HttpClient, build_request, wait_until
from lbd_harness import LbdTestCase, config, pool
from prom_text import scrape

BODY = bytes(range(256)) * 2048  # 512 KiB


def slow_read_response(client, piece=16 * 1024, pause=0.2, limit=60.0):
    """Reads one response head and `len(BODY)` body bytes (or to EOF) at
    about piece/pause bytes a second; returns (head bytes, body bytes)."""
    sock = client.sock
    sock.settimeout(10)
    data = b""
    deadline = time.monotonic() + limit
    head_end = -1
    while time.monotonic() < deadline:
        chunk = sock.recv(piece)
        if not chunk:
            break
        data += chunk
        if head_end < 0:
            head_end = data.find(b"\r\n\r\n")
        if head_end >= 0 and len(data) - head_end - 4 >= len(BODY):
            break
        time.sleep(pause)
    if head_end < 0:
        return data, b""
    return data[:head_end + 4], data[head_end + 4:]


class DeadlinesTest(LbdTestCase):
    def start(self, handler, **timeouts):
        cfg = config([pool("app", [self.backend(handler)])])
        cfg["listeners"][0]["timeouts"].update(timeouts)
        return self.start_lbd(cfg)

    def active(self, lbd):
        m = scrape(lbd.admin_port)
        return (m.sum("lbd_connections_active", listener="web"),
                m.sum("lbd_backend_active_requests", pool="app"))

    def test_a_later_request_head_is_due_timeouts_header_after_its_first_byte(self):
        # Not what is left of the keep-alive wait (timeouts.idle) that its
        # first byte ended.
        lbd = self.start(respond(200, b"ok"), header="1s", idle="30s")
        client = HttpClient(lbd.port)
        self.addCleanup(client.close)
        self.assertEqual(client.request().status, 200)
        client.send(b"GET /second HTTP/1.1\r\nHost: x\r\n")  # and never the end of the head
        start = time.monotonic()
        client.sock.settimeout(5)
        self.assertEqual(client.read_response().status, 408)
        self.assertLess(time.monotonic() - start, 4)

    def test_a_client_that_never_reads_is_cut_after_send_timeout(self):
        # idle is long: only the send deadline can end this connection.
        lbd = self.start(endless_body, send="1s", idle="60s")
        client = self.client(rcvbuf=16 * 1024)
        client.send(build_request("GET", "/big"))
        # The backend streams until lbd's buffers and both socket buffers
        # are full; then nothing moves, and lbd must give up on the client.
        self.assertTrue(wait_until(lambda: self.active(lbd) == (1, 1), 5), "the request never got going")
        self.assertTrue(wait_until(lambda: self.active(lbd) == (0, 0), 10),
                        f"connection still held: {self.active(lbd)}")
        self.assertIn("timeouts.send", lbd.stderr())

    def test_a_slow_reader_is_not_cut_by_the_send_timeout(self):
        # 512 KiB at ~80 KiB/s takes ~6 s, several times timeouts.send: the
        # client takes bytes all along, which is progress.
        self.start(respond(200, BODY), send="1s")
        client = self.client(rcvbuf=16 * 1024)
        client.send(build_request("GET", "/slow"))
        head, body = slow_read_response(client)
        self.assertIn(b" 200 ", head)
        self.assertEqual(body, BODY)

    def test_keepalive_idle_does_not_cut_a_response_still_being_written(self):
        # The backend's part ends long before the client has read it all;
        # the keep-alive idle deadline (1 s) starts only once lbd has
        # written the last byte (it used to start at the end of the
        # exchange and throw away the ~300 KiB still queued).
        self.start(respond(200, BODY), idle="1s")
        client = self.client(rcvbuf=16 * 1024)
        client.send(build_request("GET", "/first"))
        head, body = slow_read_response(client)
        self.assertIn(b" 200 ", head)
        self.assertEqual(len(body), len(BODY))
        self.assertEqual(body, BODY)

    def test_linger_waits_for_the_response_to_be_written(self):
        # HTTP/1.0, close-delimited: lbd closes after the response, with a lingering
        # close that must start only once the last byte left, not at the
        # end of the exchange (the tail of a slow reader's body was lost).
        self.start(respond(200, BODY, framing="close"))
        client = self.client(rcvbuf=16 * 1024)
        client.send(build_request("GET", "/close", version="HTTP/1.0"))
        head, body = slow_read_response(client)
        self.assertIn(b" 200 ", head)
        self.assertEqual(len(body), len(BODY))
        self.assertEqual(body, BODY)

    def test_a_backend_that_stops_taking_the_body_gets_504(self):
        # The backend accepts and never reads: lbd's queue towards it fills,
        # lbd stops reading the client, and the body deadline blames the
        # backend instead of holding both connections forever.
        silent = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(silent.close)
        accepted = []
        self.addCleanup(lambda: [c.close() for c in accepted])
        silent.settimeout(10)
        cfg = config([pool("app", [f"127.0.0.1:{silent.getsockname()[1]}"], retries=0)])
        cfg["listeners"][0]["timeouts"].update(idle="1s")
        lbd = self.start_lbd(cfg)
        client = self.client(timeout=10)
        client.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100000000\r\n\r\n")
        accepted.append(silent.accept()[0])
        accepted[0].setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.sock.setblocking(False)
        chunk, sent, deadline = b"x" * 65536, 0, time.monotonic() + 15
        while time.monotonic() < deadline:  # push until lbd stops taking it
            try:
                sent += client.sock.send(chunk)
            except BlockingIOError:
                time.sleep(0.05)
                if not wait_until(lambda: self._writable(client.sock), 0.5):
                    break
        client.sock.setblocking(True)
        client.sock.settimeout(10)
        resp = client.read_response("POST")
        self.assertEqual(resp.status, 504)
        self.assertIn("backend stopped taking it", lbd.stderr())
        self.assertTrue(wait_until(lambda: self.active(lbd)[1] == 0, 5))

    @staticmethod
    def _writable(sock):
        import select
        return bool(select.select([], [sock], [], 0)[1])

    def test_a_stalled_request_body_gets_408(self):
        self.start(respond(200, b"ok"), idle="1s")
        client = self.client()
        client.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100\r\n\r\n0123456789")
        client.sock.settimeout(10)
        resp = client.read_response("POST")
        self.assertEqual(resp.status, 408)
        self.assertClosedPromptly(client)


if __name__ == "__main__":
    import unittest
    unittest.main()
