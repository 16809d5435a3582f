"""Bodies are streamed as they arrive, never buffered whole, with
back-pressure: server-sent events reach the client one by one, request body
chunks reach the backend one by one, and a client that stops reading a huge
response does not make lbd's memory grow (issue 2 §3)."""
import hashlib
import threading
import time
import unittest

from httpwire import build_request, read_with_arrivals, sse_events
from lbd_harness import LbdTestCase, echoed, memory_test_env
import fake_backend as fb

MiB = 1024 * 1024
EVENTS = 3
EVENT_INTERVAL = 1.0


class StreamingTest(LbdTestCase):
    def test_server_sent_events_arrive_one_by_one(self):
        backend = self.backend(fb.events(EVENTS, EVENT_INTERVAL))
        self.proxy([backend])
        client = self.client()
        client.send(build_request("GET", "/events", [("Accept", "text/event-stream")]))
        resp, arrived = read_with_arrivals(client, sse_events)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, b"".join(b"id: %d\ndata: event %d\n\n" % (i, i)
                                             for i in range(EVENTS)))
        for i in range(EVENTS - 1):
            self.assertLess(arrived[i], backend.sent_at[i + 1],
                            f"event {i} arrived only after event {i + 1} was sent")

    def test_request_body_chunks_reach_backend_before_the_body_ends(self):
        backend = self.backend()
        self.proxy([backend])
        client = self.client()
        client.send(build_request("POST", "/upload", [("Transfer-Encoding", "chunked")])
                    + b"5\r\nfirst\r\n")
        time.sleep(1.0)
        second_sent = time.monotonic()
        client.send(b"6\r\nsecond\r\n0\r\n\r\n")
        self.assertEqual(client.read_response().status, 200)
        self.assertEqual(backend.requests[0].body, b"firstsecond")
        self.assertLess(backend.body_arrivals[0][0], second_sent,
                        "the first chunk was held back until the body was complete")

    def test_slow_reader_does_not_grow_memory(self):
        backend = self.backend(fb.endless_body)
        lbd = self.proxy([backend], extra_env=memory_test_env())
        rss_before = lbd.proc_status_kib("VmRSS")
        client = self.client(rcvbuf=64 * 1024)
        client.send(build_request("GET", "/huge"))
        received, deadline = 0, time.monotonic() + 4
        while received < 8 * MiB and time.monotonic() < deadline:
            received += len(client.reader.read_some(64 * 1024))
            time.sleep(0.005)  # a slow reader: about 10 MiB/s at most
        self.assertGreater(received, 1 * MiB, "the response did not stream")
        time.sleep(3)  # stop reading; the backend keeps producing
        growth_mib = (lbd.proc_status_kib("VmRSS") - rss_before) / 1024
        self.assertLess(growth_mib, 16, f"lbd's RSS grew {growth_mib:.1f} MiB while "
                        f"{backend.bytes_sent / MiB:.0f} MiB were sent and {received / MiB:.0f} MiB read")

    def test_backend_not_reading_holds_the_upload_back(self):
        backend = self.backend(body_delay=3.0)
        lbd = self.proxy([backend], extra_env=memory_test_env(),
                         timeouts={"connect": "1s", "response": "30s"})
        rss_before = lbd.proc_status_kib("VmRSS")
        block, blocks = b"u" * MiB, 64
        client = self.client(timeout=30)
        client.send(build_request("POST", "/upload", [("Content-Length", str(blocks * MiB))]))
        sender = threading.Thread(target=lambda: [client.send(block) for _ in range(blocks)],
                                  daemon=True)
        sender.start()
        time.sleep(2)  # the backend has read nothing of the body yet
        growth_mib = (lbd.proc_status_kib("VmRSS") - rss_before) / 1024
        self.assertLess(growth_mib, 16, f"lbd's RSS grew {growth_mib:.1f} MiB: it kept "
                        "reading the upload while the backend read nothing")
        doc = echoed(client.read_response())
        sender.join(5)
        self.assertEqual(doc["body_sha256"], hashlib.sha256(block * blocks).hexdigest())


if __name__ == "__main__":
    unittest.main()
