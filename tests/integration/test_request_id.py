"""The request id lbd assigns is in the JSON access log and reaches the
backend as X-Request-Id, unless the client sent its own (issue 6 §5)."""
import re
import time
import unittest

from lbd_harness import LbdTestCase, echoed, header_values
from httpwire import wait_until


class RequestIdTest(LbdTestCase):
    def logged(self, path):
        entries = []
        wait_until(lambda: entries.extend(e for e in self.lbd.access_log() if e.get("path") == path) or entries, 5)
        self.assertEqual(len(entries), 1, f"access log lines for {path}: {entries}")
        return entries[0]

    def test_access_log_id_is_the_id_sent_upstream(self):
        self.proxy([self.backend()])
        client = self.client()
        ids = []
        for i in range(3):
            doc = echoed(client.request("GET", f"/id/{i}"))
            sent = header_values(doc, "X-Request-Id")
            self.assertEqual(len(sent), 1, doc["headers"])
            self.assertEqual(self.logged(f"/id/{i}")["request_id"], sent[0])
            ids.append(sent[0])
        self.assertEqual(len(set(ids)), 3, "request ids repeat")
        for request_id in ids:
            self.assertRegex(request_id, r"^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$")

    def test_client_id_passes_through_and_the_log_keeps_lbds(self):
        self.proxy([self.backend()])
        doc = echoed(self.client().request("GET", "/mine", headers=[("X-Request-Id", "client-chosen-42")]))
        self.assertEqual(header_values(doc, "X-Request-Id"), ["client-chosen-42"])
        logged = self.logged("/mine")["request_id"]
        self.assertRegex(logged, r"^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$")


if __name__ == "__main__":
    unittest.main()
