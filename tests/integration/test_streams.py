"""Streamed AI replies (issue 16, streams): SSE heartbeats only between
events, a clean "event: error" end when the backend dies mid-stream (or the
old reset with on_stream_error: reset), non-SSE bodies still cut, streams
ended with "retry:" at shutdown, and the stream metrics. Every event is
parsed from the raw bytes the client receives."""
import json
import random
import threading
import time
import unittest

from httpwire import HttpClient, build_request, wait_until
from lbd_harness import LbdTestCase, config, pool
from prom_text import scrape

SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def sse_backend(script):
    """A backend that sends SSE_HEAD, then runs script(send, backend):
    send(bytes) writes one chunk; returning "reset" resets the connection,
    anything else ends the body properly."""
    def handler(ex, req):
        ex.send(SSE_HEAD)
        outcome = script(lambda data: ex.send(chunk(data)), ex.backend)
        if outcome == "reset":
            ex.reset()
            return False
        ex.send(b"0\r\n\r\n")
        return True
    return handler


def parse_sse(body):
    """(events, comments) as an EventSource sees them: events are
    (type, data) dispatched on a blank line; comments are ':' lines with
    the index of the event they came after."""
    events, comments = [], []
    etype, data = "", []
    for line in body.decode().replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if data:
                events.append((etype or "message", "\n".join(data)))
            etype, data = "", []
        elif line.startswith(":"):
            # A comment inside an event (data pending) would show here.
            comments.append((len(events), bool(data) or bool(etype), line))
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                etype = value
            elif field == "data":
                data.append(value)
    return events, comments


class StreamClient:
    """Reads a chunked response raw: the de-chunked body, whether it ended
    with the last chunk, and how it ended."""

    def __init__(self, port, target="/chat"):
        self.client = HttpClient(port, timeout=15)
        self.client.send(build_request("GET", target, [("Accept", "text/event-stream")]))
        self.raw = b""

    def read_all(self, timeout=15):
        deadline = time.monotonic() + timeout
        self.client.sock.settimeout(1)
        while time.monotonic() < deadline:
            try:
                data = self.client.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                self.ending = "reset"
                break
            if not data:
                self.ending = "eof"
                break
            self.raw += data
            if self.raw.endswith(b"\r\n0\r\n\r\n"):
                self.ending = "last-chunk"
                break
        else:
            self.ending = "timeout"
        self.client.close()
        head, _, rest = self.raw.partition(b"\r\n\r\n")
        self.head = head.decode()
        self.body, self.complete = b"", False
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                self.complete = True
                break
            self.body += rest[:size]
            rest = rest[size + 2:]
        return self


class StreamsTest(LbdTestCase):
    def start(self, handler, **streaming):
        backend = self.backend(handler)
        pool_cfg = pool("app", [backend], retries=0, streaming=streaming or {"sse_heartbeat": "0s"},
                        timeouts={"connect": "1s", "response": "5s"})
        self.start_lbd(config([pool_cfg]))
        return backend

    def test_heartbeats_keep_a_silent_stream_alive_between_events(self):
        def script(send, backend):
            time.sleep(0.9)  # a model in its queue: silence before the first token
            send(b"data: first\n\n")
            time.sleep(0.7)
            send(b"data: second\n\n")
        self.start(sse_backend(script), sse_heartbeat="200ms")
        s = StreamClient(self.lbd.port).read_all()
        self.assertTrue(s.complete, s.raw)
        events, comments = parse_sse(s.body)
        self.assertEqual(events, [("message", "first"), ("message", "second")])
        before_first = [c for c in comments if c[0] == 0]
        between = [c for c in comments if c[0] == 1]
        self.assertGreaterEqual(len(before_first), 3)  # 0.9 s of silence, every 200 ms
        self.assertGreaterEqual(len(between), 2)
        self.assertTrue(all(line == ": keepalive" and not inside for _, inside, line in comments))
        m = scrape(self.lbd.admin_port)
        self.assertEqual(m.value("lbd_sse_heartbeats_total", pool="app"), len(comments))
        self.assertEqual(m.value("lbd_stream_event_gap_seconds_count", pool="app"), 2)
        self.assertGreater(m.value("lbd_stream_event_gap_seconds_sum", pool="app"), 1.2)
        self.assertEqual(m.value("lbd_backend_first_byte_seconds_count", pool="app", backend="b1"), 1)

    def test_no_heartbeat_lands_inside_an_event(self):
        def script(send, backend):
            send(b"event: token\ndata: par")
            time.sleep(0.8)  # silent mid-event: nothing may go in here
            send(b"tial\r\ndata: more\r\n")
            time.sleep(0.5)
            send(b"\r\n")
        self.start(sse_backend(script), sse_heartbeat="150ms")
        s = StreamClient(self.lbd.port).read_all()
        events, comments = parse_sse(s.body)
        self.assertEqual(events, [("token", "partial\nmore")])
        self.assertEqual(comments, [])
        self.assertEqual(s.body, b"event: token\ndata: partial\r\ndata: more\r\n\r\n")

    def test_heartbeats_stay_between_events_under_load(self):
        rng = random.Random(7)
        scripts = {}

        def script(send, backend):
            # Events cut at random places, with random pauses inside and between.
            text = b"".join(b"id: %d\ndata: token %d\n\n" % (i, i) for i in range(6))
            cut = 0
            while cut < len(text):
                n = rng.randint(1, 12)
                send(text[cut:cut + n])
                cut += n
                time.sleep(rng.choice([0, 0, 0.01, 0.12]))
        self.start(sse_backend(script), sse_heartbeat="100ms")
        results = [None] * 16

        def one(i):
            results[i] = StreamClient(self.lbd.port).read_all()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        heartbeats = 0
        for s in results:
            self.assertTrue(s.complete, s.raw[-200:])
            events, comments = parse_sse(s.body)
            self.assertEqual(events, [("message", f"token {i}") for i in range(6)])
            self.assertTrue(all(not inside for _, inside, _ in comments), comments)
            heartbeats += len(comments)
        self.assertGreater(heartbeats, 0)  # the pauses were long enough for some

    def test_a_backend_dying_mid_stream_ends_it_with_an_error_event(self):
        def script(send, backend):
            send(b"data: one\n\n")
            send(b"data: two\n\n")
            time.sleep(0.1)
            return "reset"
        self.start(sse_backend(script))  # on_stream_error defaults to event
        s = StreamClient(self.lbd.port).read_all()
        self.assertTrue(s.complete, s.raw)  # a clean end: the last chunk, not a reset
        events, _ = parse_sse(s.body)
        self.assertEqual(events[:2], [("message", "one"), ("message", "two")])
        self.assertEqual(events[2][0], "error")
        self.assertEqual(json.loads(events[2][1]), {"error": "closed_early"})
        m = scrape(self.lbd.admin_port)
        self.assertEqual(m.value("lbd_streams_interrupted_total", pool="app", backend="b1"), 1)
        self.assertTrue(wait_until(lambda: any(e.get("interrupted") for e in self.lbd.access_log()), 5),
                        self.lbd.stdout())

    def test_a_partial_event_is_closed_before_the_error_event(self):
        def script(send, backend):
            send(b"data: whole\n\ndata: half")
            time.sleep(0.1)
            return "reset"
        self.start(sse_backend(script))
        s = StreamClient(self.lbd.port).read_all()
        events, _ = parse_sse(s.body)
        self.assertEqual([e[0] for e in events], ["message", "message", "error"])
        self.assertEqual(events[1], ("message", "half"))  # what came of it, on its own

    def test_on_stream_error_reset_cuts_the_client(self):
        def script(send, backend):
            send(b"data: one\n\n")
            time.sleep(0.1)
            return "reset"
        self.start(sse_backend(script), on_stream_error="reset")
        s = StreamClient(self.lbd.port).read_all()
        self.assertFalse(s.complete)
        self.assertIn(s.ending, ("reset", "eof"))
        self.assertNotIn(b"event: error", s.body)

    def test_a_plain_chunked_body_is_still_cut(self):
        def handler(ex, req):
            ex.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            ex.send(chunk(b'{"partial": '))
            time.sleep(0.1)
            ex.reset()
            return False
        self.start(handler)
        s = StreamClient(self.lbd.port).read_all()
        self.assertFalse(s.complete)  # a silent truncation would be worse
        self.assertEqual(s.body, b'{"partial": ')

    def test_at_shutdown_a_long_stream_is_told_to_reconnect_then_ended(self):
        def script(send, backend):
            send(b"data: hello\n\n")
            backend.stopping.wait(10)  # a stream that outlives shutdown_timeout
        backend = self.backend(sse_backend(script))
        cfg = config([pool("app", [backend], retries=0)])
        cfg["shutdown_timeout"] = "1s"
        lbd = self.start_lbd(cfg)
        s = StreamClient(self.lbd.port)
        time.sleep(0.3)
        started = time.monotonic()
        lbd.signal()
        s.read_all(timeout=10)
        self.assertLess(time.monotonic() - started, 4)
        self.assertTrue(s.complete, s.raw)
        self.assertIn(b"retry: 1000\n", s.body)
        events, _ = parse_sse(s.body)
        self.assertEqual(events, [("message", "hello"), ("error", '{"error": "shutdown"}')])
        self.assertEqual(lbd.wait(10), 0)
        self.assertIn("stream(s) still open", lbd.stderr())


if __name__ == "__main__":
    unittest.main()
