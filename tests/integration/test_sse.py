"""Streaming replies reach the client piece by piece with no added delay
(issue 8 §3): server-sent events and chunked bodies from a backend that
sends one piece every 100 ms arrive through lbd about 100 ms apart — an
event held back until the next one would arrive with it (a gap near 0) —
and the first one arrives long before the stream ends.

Timing bounds are generous on purpose (a shared, loaded machine): half the
interval and more for each gap."""
import time
import unittest

from demo_backends import DemoBackend
from httpwire import build_request, read_with_arrivals, sse_events
from lbd_harness import LbdTestCase

INTERVAL = 0.1
COUNT = 12


class SseTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        backend = DemoBackend("sse1")
        self.addCleanup(backend.stop)
        self.proxy([backend])

    def arrivals(self, target, pieces_in, accept="*/*"):
        """The response, when the request went out, and when each piece
        (as counted by pieces_in(bytes so far)) was complete."""
        client = self.client()
        start = time.monotonic()
        client.send(build_request("GET", target, [("Accept", accept)]))
        resp, arrived = read_with_arrivals(client, pieces_in)
        return resp, start, arrived

    def assertPaced(self, start, arrived):
        self.assertEqual(len(arrived), COUNT)
        gaps = [b - a for a, b in zip(arrived, arrived[1:])]
        self.assertTrue(all(g > INTERVAL / 2 for g in gaps),
                        "a piece was held back and came with the next: gaps "
                        + ", ".join(f"{g * 1000:.0f}" for g in gaps) + " ms")
        # Nothing waits for the end: the first piece comes well before the last is sent.
        self.assertLess(arrived[0] - start, (COUNT - 2) * INTERVAL)

    def test_server_sent_events_arrive_as_they_are_sent(self):
        resp, start, arrived = self.arrivals(f"/sse?n={COUNT}&interval_ms={int(INTERVAL * 1000)}",
                                             sse_events, accept="text/event-stream")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("Content-Type"), "text/event-stream")
        self.assertEqual(resp.body, b"".join(b"data: sse1 %d\n\n" % i for i in range(1, COUNT + 1)))
        self.assertPaced(start, arrived)

    def test_chunked_body_arrives_chunk_by_chunk(self):
        # Chunks of 8 bytes, one letter each: "aaaaaaaa", "bbbbbbbb", ...
        resp, start, arrived = self.arrivals(f"/chunked?n={COUNT}&size=8&interval_ms={int(INTERVAL * 1000)}",
                                             lambda s: len(s) // 8)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("Transfer-Encoding"), "chunked")
        self.assertEqual(resp.body, b"".join(bytes([97 + i]) * 8 for i in range(COUNT)))
        self.assertPaced(start, arrived)


if __name__ == "__main__":
    unittest.main()
