"""Connect failures and resets before any response byte move a replayable
request to another backend, up to the pool's retries (issue 2 §4)."""
import collections
import unittest

from lbd_harness import LbdTestCase, echoed
import fake_backend as fb


class RetriesTest(LbdTestCase):
    def test_closed_port_backend_is_skipped(self):
        live = self.backends(2)
        self.proxy([live[0], f"127.0.0.1:{fb.closed_port()}", live[1]])
        seen = collections.Counter()
        for i in range(9):
            seen[echoed(self.client().request("GET", f"/{i}"))["backend"]] += 1
        self.assertEqual(set(seen), {"b1", "b2"})

    def test_post_after_connect_failure_is_retried(self):
        live = self.backend()
        self.proxy([f"127.0.0.1:{fb.closed_port()}", live])
        for i in range(4):
            doc = echoed(self.client().request("POST", f"/{i}", body=b"data"))
            self.assertEqual(doc["body"], "data")

    def test_reset_before_response_retries_get(self):
        resetting = self.backend(fb.reset_after_request)
        live = self.backend()
        self.proxy([resetting, live])
        for i in range(6):
            self.assertEqual(echoed(self.client().request("GET", f"/{i}"))["backend"], live.name)
        self.assertGreater(resetting.request_count, 0, "the resetting backend was never tried")

    def test_post_is_not_replayed_after_the_backend_got_it(self):
        resetting = self.backend(fb.reset_after_request)
        live = self.backend()
        self.proxy([resetting, live])
        statuses = [self.client().request("POST", f"/{i}", body=b"once").status for i in range(4)]
        self.assertIn(502, statuses)
        self.assertEqual(resetting.request_count + live.request_count, 4,
                         "a POST was delivered twice")

    def test_retries_zero_means_no_second_backend(self):
        self.proxy([f"127.0.0.1:{fb.closed_port()}", self.backend()], retries=0)
        statuses = [self.client().request().status for _ in range(4)]
        self.assertEqual(sorted(statuses), [200, 200, 502, 502])


if __name__ == "__main__":
    unittest.main()
