"""lbd in front of lbd-demo-backend's model-server mode (issue 16, "Demo and
proof"): tokens stream through one by one; the backend's queue depth, sent
in X-Backend-Load and in its /metrics, reaches least_load (and the header
never reaches the client); a backend that dies mid-reply gives the client
`event: error` and a proper end; a silent prefill gets `: keepalive`. Also the
demo backend's own bounds: a full queue answers 503, bad queries 400."""
import json
import time
import unittest

from demo_backends import DemoBackend
from httpwire import HttpClient, build_request, get, read_with_arrivals, sse_events, wait_until
from lbd_harness import LbdTestCase, config, pool
from prom_text import scrape

CHAT = "/v1/chat/completions"


def data_events(body):
    """The `data:` payloads of an SSE body, in order (comments and other
    fields left out)."""
    out = []
    for event in body.split(b"\n\n"):
        for line in event.split(b"\n"):
            if line.startswith(b"data: "):
                out.append(line[6:])
    return out


def tokens(body):
    """The generated words, from the chat-completion chunks."""
    words = []
    for data in data_events(body):
        if data == b"[DONE]" or not data.startswith(b"{"):
            continue
        doc = json.loads(data)
        if "choices" in doc:
            words.append(doc["choices"][0]["delta"].get("content"))
    return [w for w in words if w is not None]


class ModelServerTest(LbdTestCase):
    def model(self, name, *flags):
        backend = DemoBackend(name, log_dir=self.tmp.name, args=flags)
        self.addCleanup(backend.stop)
        return backend

    def start(self, backends, **overrides):
        settings = dict(strategy="least_load",
                        load_report={"header": "X-Backend-Load", "metric": "demo:num_requests_waiting",
                                     "interval": "200ms"},
                        timeouts={"connect": "1s", "response": "5s"})
        settings.update(overrides)
        return self.start_lbd(config([pool("chat", backends, **settings)]))

    def test_tokens_stream_through_one_by_one(self):
        backend = self.model("m1", "--max-concurrent", "2", "--tokens", "6", "--token-interval-ms", "80")
        self.start([backend])
        client = self.client()
        start = time.monotonic()
        client.send(build_request("POST", CHAT, [("Content-Type", "application/json")], b'{"stream": true}'))
        resp, arrived = read_with_arrivals(client, sse_events, method="POST")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("Content-Type"), "text/event-stream")
        self.assertIsNone(resp.header("X-Backend-Load"), "lbd forwarded the load report to the client")
        self.assertEqual(tokens(resp.body), ["lbd ", "keeps ", "this ", "stream ", "alive ", "while "])
        self.assertEqual(data_events(resp.body)[-1], b"[DONE]")
        # 6 tokens + the finish chunk and [DONE] (one write, two events).
        self.assertEqual(len(arrived), 8)
        gaps = [b - a for a, b in zip(arrived, arrived[1:6])]
        self.assertTrue(all(g > 0.04 for g in gaps), f"tokens bunched up: {gaps}")
        self.assertLess(arrived[0] - start, 0.4)

    def test_queue_depth_reaches_least_load_and_not_the_client(self):
        busy = self.model("busy", "--max-concurrent", "1", "--queue", "8", "--tokens", "100",
                          "--token-interval-ms", "50")
        idle = self.model("idle", "--max-concurrent", "1", "--queue", "8", "--tokens", "1",
                          "--token-interval-ms", "0")
        lbd = self.start([busy, idle])
        # Fill busy's queue behind lbd's back: 1 generating, 3 waiting.
        heads = []
        for _ in range(4):
            c = HttpClient(busy.port)
            self.addCleanup(c.close)
            c.send(build_request("GET", CHAT))
            heads.append(c.reader.read_until(b"\r\n\r\n"))
        self.assertIn(b"X-Backend-Load: 3\r\n", heads[-1])
        metrics = get(busy.port, "/metrics").body.decode()
        self.assertIn("demo:num_requests_waiting 3\n", metrics)
        # lbd polls the gauge, so it knows before sending busy anything.
        self.assertTrue(wait_until(lambda: scrape(lbd.admin_port).value(
            "lbd_backend_reported_load", pool="chat", backend="busy") == 3, 3.0),
            "lbd never read busy's queue depth")
        client = self.client()
        for _ in range(8):
            resp = client.request("GET", CHAT)
            self.assertEqual(resp.status, 200)
            self.assertIsNone(resp.header("X-Backend-Load"))
            self.assertEqual(resp.header("X-Backend"), "idle", "least_load sent a request into the queue")

    def test_the_header_alone_feeds_least_load(self):
        backend = self.model("h1", "--max-concurrent", "1", "--queue", "8", "--tokens", "100",
                             "--token-interval-ms", "50")
        lbd = self.start([backend], load_report={"header": "X-Backend-Load", "interval": "10s"})
        clients = []
        for _ in range(3):
            c = self.client()
            c.send(build_request("GET", CHAT))
            clients.append(c)
            # Heads in order: each reports the queue as it arrived.
            c.reader.read_until(b"\r\n\r\n")
        # The third head said 2 waiting (itself and the second).
        self.assertEqual(scrape(lbd.admin_port).value("lbd_backend_reported_load", pool="chat", backend="h1"), 2)

    def test_backend_dying_mid_reply_ends_the_stream_with_an_error_event(self):
        backend = self.model("d1", "--tokens", "10", "--token-interval-ms", "20")
        lbd = self.start([backend], strategy="round_robin", load_report={})
        resp = self.client().request("GET", CHAT + "?die_after=3")
        self.assertEqual(resp.status, 200)
        self.assertEqual(tokens(resp.body), ["lbd ", "keeps ", "this "])
        self.assertTrue(resp.body.endswith(b'event: error\ndata: {"error": "closed_early"}\n\n'), resp.body[-200:])
        self.assertNotIn(b"[DONE]", resp.body)
        self.assertTrue(wait_until(lambda: scrape(lbd.admin_port).value(
            "lbd_streams_interrupted_total", pool="chat", backend="d1") == 1, 2.0))

    def test_prefill_silence_gets_keepalives_before_the_first_token(self):
        backend = self.model("p1", "--tokens", "2", "--token-interval-ms", "10", "--prefill-ms", "700")
        self.start([backend], strategy="round_robin", load_report={},
                   streaming={"sse_heartbeat": "200ms"})
        resp = self.client().request("GET", CHAT)
        self.assertEqual(resp.status, 200)
        before_first = resp.body.split(b"data: ", 1)[0]
        self.assertGreaterEqual(before_first.count(b": keepalive\n\n"), 2, resp.body[:200])
        self.assertEqual(len(tokens(resp.body)), 2)


class DemoBackendBoundsTest(unittest.TestCase):
    """The model-server mode on its own: hostile or excessive asks are refused."""

    def setUp(self):
        self.backend = DemoBackend("q1", args=("--max-concurrent", "1", "--queue", "1", "--tokens", "100",
                                               "--token-interval-ms", "50"))
        self.addCleanup(self.backend.stop)

    def test_a_full_queue_answers_503_at_once(self):
        held = []
        for _ in range(2):  # one generating, one waiting
            c = HttpClient(self.backend.port)
            self.addCleanup(c.close)
            c.send(build_request("GET", CHAT))
            c.reader.read_until(b"\r\n\r\n")
            held.append(c)
        resp = get(self.backend.port, CHAT)
        self.assertEqual(resp.status, 503)
        self.assertEqual(resp.header("X-Backend-Load"), "1")
        self.assertEqual(resp.header("Retry-After"), "1")
        self.assertIn("demo:requests_refused_total 1\n", get(self.backend.port, "/metrics").body.decode())
        # A waiting client that leaves gives its place back.
        held[1].close()
        self.assertTrue(wait_until(lambda: b"demo:num_requests_waiting 0\n" in get(self.backend.port, "/metrics").body, 2.0))

    def test_bad_or_excessive_queries_answer_400(self):
        for query in ("tokens=0", "tokens=100001", "tokens=-1", "tokens=1e3", "token_interval_ms=60001",
                      "prefill_ms=600001", "die_after=x", "die_after=100001", "tokens=", "tokens"):
            resp = get(self.backend.port, f"{CHAT}?{query}")
            self.assertEqual(resp.status, 400, query)


if __name__ == "__main__":
    unittest.main()
