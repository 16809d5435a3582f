"""Several lbd replicas without shared state (issue 7 §4): two lbd
processes with the same config (only their ports differ) send the same
key to the same backend, so clients may be spread over replicas by
keepalived or DNS and still stick to their backend."""
import os
import tempfile

from httpwire import get
from lbd_harness import Lbd, LbdTestCase, config, pool

KEYS = 60


class ReplicasTest(LbdTestCase):
    def replica(self, cfg, workers):
        workdir = tempfile.mkdtemp(prefix="replica-", dir=self.tmp.name)
        cfg = dict(cfg, workers=workers)
        cfg["listeners"] = [dict(cfg["listeners"][0])]
        cfg["admin"] = dict(cfg["admin"])
        lbd = Lbd(cfg, workdir)
        self.addCleanup(lbd.kill)
        self.addCleanup(lbd.stop)
        return lbd.start()

    def assert_same_decisions(self, hash_key, headers_for):
        backends = [self.backend(name=f"app{i}") for i in range(1, 4)]
        cfg = config([pool("app", backends, strategy="consistent_hash", hash_key=hash_key)])
        # Different worker counts on purpose: the choice depends on the
        # config and the key only.
        one, two = self.replica(cfg, workers=1), self.replica(cfg, workers=2)
        self.assertNotEqual(one.port, two.port)

        decisions = {}
        for i in range(KEYS):
            headers = headers_for(f"user-{i}")
            # Fresh connections: with 2 workers, requests land on either.
            via_one = {get(one.port, "/", headers=headers).header("X-Backend") for _ in range(2)}
            via_two = {get(two.port, "/", headers=headers).header("X-Backend") for _ in range(3)}
            self.assertEqual(len(via_one), 1, f"user-{i} moved within replica 1: {via_one}")
            self.assertEqual(via_one, via_two, f"user-{i}: replica 1 -> {via_one}, replica 2 -> {via_two}")
            decisions[i] = via_one.pop()
        # And the keys are really spread, not all on one backend.
        self.assertEqual(set(decisions.values()), {"app1", "app2", "app3"}, decisions)

    def test_header_key_lands_on_the_same_backend_through_either_replica(self):
        self.assert_same_decisions("header:X-User", lambda user: [("X-User", user)])

    def test_cookie_key_lands_on_the_same_backend_through_either_replica(self):
        self.assert_same_decisions("cookie:session", lambda user: [("Cookie", f"theme=dark; session={user}")])


if __name__ == "__main__":
    import unittest
    unittest.main()
