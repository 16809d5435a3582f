"""Listener limits hold: max_connections, and sizes just within
max_body_bytes / max_header_bytes still pass (issue 2 §5)."""
import socket
import unittest

from httpwire import ConnectionClosed, HttpClient, build_request, wait_until
from lbd_harness import LbdTestCase, config, pool

MAX_CONNECTIONS = 3


def refused_or_closed(port):
    """Whether a new connection is refused, or accepted and closed without a
    successful response, within 3 s."""
    try:
        client = HttpClient(port, timeout=3)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    try:
        client.send(build_request())
        resp = client.read_response()
        return resp.status >= 500 and client.closed_within(1)
    except (OSError, ValueError, ConnectionClosed) as e:
        return not isinstance(e, socket.timeout)
    finally:
        client.close()


class LimitsTest(LbdTestCase):
    def start_limited(self, **limits):
        cfg = config([pool("app", [self.backend()])])
        cfg["listeners"][0]["limits"].update(limits)
        return self.start_lbd(cfg)

    def test_max_connections_holds(self):
        lbd = self.start_limited(max_connections=MAX_CONNECTIONS)
        held = [self.client() for _ in range(MAX_CONNECTIONS)]
        for c in held:
            self.assertEqual(c.request().status, 200)
        self.assertTrue(refused_or_closed(lbd.port),
                        f"connection {MAX_CONNECTIONS + 1} was served")
        for c in held:
            self.assertEqual(c.request().status, 200, "a connection within the limit broke")
        held.pop().close()
        self.assertTrue(wait_until(lambda: self._one_request_ok(lbd.port), 3),
                        "no new connection accepted after one closed")

    def test_a_client_that_asked_to_close_frees_its_slot_at_once(self):
        # The client asked for the close and keeps its socket open after
        # the answer: lbd closes without waiting for the client's FIN (its
        # lingering close would hold the only slot for 2 s).
        lbd = self.start_limited(max_connections=1)
        first = self.client()
        resp = first.request("GET", "/", [("Connection", "close")])
        self.assertEqual(resp.status, 200)
        self.assertTrue(wait_until(lambda: self._one_request_ok(lbd.port), 1.2),
                        "the slot stayed taken by a connection that asked to close")

    @staticmethod
    def _one_request_ok(port):
        try:
            c = HttpClient(port, timeout=1)
            try:
                return c.request().status == 200
            finally:
                c.close()
        except (OSError, ValueError, ConnectionClosed):
            return False

    def test_body_at_the_limit_passes(self):
        self.start_limited(max_body_bytes="1KiB")
        resp = self.client().request("POST", "/", body=b"x" * 1024)
        self.assertEqual(resp.status, 200)

    def test_head_within_the_limit_passes(self):
        self.start_limited(max_header_bytes="4KiB")
        resp = self.client().request("GET", "/", [("X-Big", "b" * 3000)])
        self.assertEqual(resp.status, 200)


if __name__ == "__main__":
    unittest.main()
