"""The client's true address (issue 15 part 1): a `proxy_protocol: true`
listener takes the PROXY v1/v2 header that a TCP balancer in front sends and
refuses connections without a good one, before any backend sees them (and
before TLS on a TLS listener); `trusted_proxies` decides whose PROXY header
and X-Forwarded-For entries are believed; that one address feeds X-Real-IP,
the access log, rate limiting and ip_hash; `send_proxy_protocol` writes the
header to backends that want it, health checks included. Clients here are
raw sockets writing the headers byte for byte."""
import json
import socket
import ssl
import struct
import threading
import time
import unittest

import fake_backend as fb
from httpwire import HttpClient, Response, SocketReader, build_request, read_body, wait_until
from lbd_harness import LbdTestCase, config, echoed, header_values, pool
from prom_text import scrape
from test_tls import make_cert

HEADER_TIMEOUT = 1.0
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, dst="127.0.0.1", sport=40000, dport=80, proto="TCP4"):
    return f"PROXY {proto} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src, dst="127.0.0.1", sport=40000, dport=80, command=1, tlvs=b""):
    if ":" in src:
        body = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
        fam = 0x21
    else:
        body = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst)
        fam = 0x11
    body += struct.pack("!HH", sport, dport) + tlvs
    return SIG + bytes([0x20 | command, fam]) + struct.pack("!H", len(body)) + body


def v2_local():
    return SIG + bytes([0x20, 0x00, 0, 0])


def pp_config(backends, **listener):
    cfg = config([pool("app", backends)])
    cfg["listeners"][0]["timeouts"]["header"] = f"{int(HEADER_TIMEOUT * 1000)}ms"
    cfg["listeners"][0].update(listener)
    return cfg


class ProxyBackend(fb.FakeBackend):
    """A backend that wants a PROXY header (v1 or v2) first on every
    connection, as HAProxy's accept-proxy does; it records each header and
    closes a connection that does not start with one."""

    def __init__(self, name, **kw):
        super().__init__(name, **kw)
        self.headers = []  # (version, text-or-(command, family, src, dst, sport, dport))

    def _serve(self, sock):
        reader = SocketReader(sock)
        sock.settimeout(5)
        try:
            first = reader.read_exact(1)
            if first == b"P":
                line = first + reader.read_until(b"\r\n", limit=107)
                rec = (1, line.decode())
            elif first == b"\r":
                fixed = first + reader.read_exact(15)
                assert fixed[:12] == SIG, fixed
                length = struct.unpack("!H", fixed[14:16])[0]
                block = reader.read_exact(length) if length else b""
                command, fam = fixed[12] & 0xF, fixed[13] >> 4
                if command == 1 and fam == 1:
                    src, dst = socket.inet_ntop(socket.AF_INET, block[:4]), socket.inet_ntop(socket.AF_INET, block[4:8])
                    sport, dport = struct.unpack("!HH", block[8:12])
                    rec = (2, ("PROXY", src, dst, sport, dport))
                else:
                    rec = (2, ("LOCAL" if command == 0 else "PROXY", fam))
            else:
                raise ValueError("no PROXY header")
        except Exception:
            sock.close()
            return
        with self.lock:
            self.headers.append(rec)
        # Then plain HTTP, as a FakeBackend serves it (with this reader).
        try:
            while not self.stopping.is_set() and self._serve_one(sock, reader):
                pass
        except (fb.ConnectionClosed, OSError, ValueError):
            pass
        finally:
            sock.close()


class ProxyProtocolTest(LbdTestCase):
    def raw(self, port=None):
        c = HttpClient(port or self.lbd.port)
        self.addCleanup(c.close)
        return c

    def through(self, header, **kw):
        """One request after `header` on a fresh connection; the echo doc."""
        c = self.raw()
        c.send(header)
        return echoed(c.request("GET", "/", host="x", **kw))

    def refused(self, app, data, why, timeout=3.0):
        c = self.raw()
        c.send(data)
        self.assertTrue(c.closed_within(timeout), f"{why}: connection still open")
        self.assertEqual(app.request_count, 0, why)
        self.assertEqual(app.connections, 0, why)

    def test_v1_and_v2_headers_name_the_client_everywhere(self):
        app = self.backend(name="app")
        self.start_lbd(pp_config([app], proxy_protocol=True))
        doc = self.through(v1("198.51.100.7"))
        self.assertEqual(header_values(doc, "X-Real-IP"), ["198.51.100.7"])
        self.assertEqual(header_values(doc, "X-Forwarded-For"), ["198.51.100.7"])
        doc = self.through(v1("2001:db8::7", "::1", proto="TCP6"))
        self.assertEqual(header_values(doc, "X-Real-IP"), ["2001:db8::7"])
        # v2 with TLVs (ALPN, NOOP, a vendor one), which are skipped.
        tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x00" + b"\xea\x00\x05vpce-"
        doc = self.through(v2("203.0.113.9", tlvs=tlvs))
        self.assertEqual(header_values(doc, "X-Real-IP"), ["203.0.113.9"])
        # LOCAL (a balancer's own health check) and UNKNOWN: the peer stands.
        self.assertEqual(header_values(self.through(v2_local()), "X-Real-IP"), ["127.0.0.1"])
        self.assertEqual(header_values(self.through(b"PROXY UNKNOWN\r\n"), "X-Real-IP"), ["127.0.0.1"])
        # Keep-alive: the connection's client stays for every request on it.
        c = self.raw()
        c.send(v1("192.0.2.44"))
        for _ in range(2):
            self.assertEqual(header_values(echoed(c.request("GET", "/", host="x")), "X-Real-IP"), ["192.0.2.44"])
        self.assertTrue(wait_until(lambda: len(self.lbd.access_log()) == 7, 3), self.lbd.access_log())
        clients = [e["client"] for e in self.lbd.access_log()]
        self.assertEqual(clients, ["198.51.100.7", "2001:db8::7", "203.0.113.9", "127.0.0.1", "127.0.0.1",
                                   "192.0.2.44", "192.0.2.44"])

    def test_header_in_slow_pieces_within_the_timeout(self):
        app = self.backend(name="app")
        self.start_lbd(pp_config([app], proxy_protocol=True))
        c = self.raw()
        header = v2("198.51.100.8") + build_request("GET", "/", host="x")
        for i in range(0, len(header), 7):
            c.send(header[i:i + 7])
            time.sleep(0.01)
        self.assertEqual(header_values(echoed(c.read_response()), "X-Real-IP"), ["198.51.100.8"])

    def test_missing_malformed_and_oversize_headers_never_reach_a_backend(self):
        app = self.backend(name="app")
        self.start_lbd(pp_config([app], proxy_protocol=True))
        cases = {
            "missing": build_request("GET", "/", host="x"),
            "v1 lower case": b"proxy TCP4 1.2.3.4 127.0.0.1 1 2\r\n" + build_request("GET", "/", host="x"),
            "v1 bad address": v1("1.2.3.400") + build_request("GET", "/", host="x"),
            "v1 wrong family": v1("2001:db8::1") + build_request("GET", "/", host="x"),
            "v1 oversize": b"PROXY UNKNOWN " + b"x" * 100 + b"\r\n" + build_request("GET", "/", host="x"),
            "v1 without CR": b"PROXY TCP4 1.2.3.4 127.0.0.1 1 2\n" + build_request("GET", "/", host="x"),
            "v2 bad version": SIG + b"\x31\x11\x00\x0c" + b"\x00" * 12 + build_request("GET", "/", host="x"),
            "v2 short length": SIG + b"\x21\x11\x00\x04" + b"\x00" * 4 + build_request("GET", "/", host="x"),
            "v2 TLV overrun": v2("1.2.3.4", tlvs=b"\x01\x00\x40h2") + build_request("GET", "/", host="x"),
            "TLS hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        }
        for why, data in cases.items():
            self.refused(app, data, why)
        self.assertIn("does not start with a PROXY protocol header", self.lbd.stderr())
        self.assertIn("PROXY v1 line longer than 107 bytes", self.lbd.stderr())
        # A good client is still served.
        self.assertEqual(header_values(self.through(v1("198.51.100.1")), "X-Real-IP"), ["198.51.100.1"])

    def test_truncated_or_absent_header_is_cut_at_the_header_timeout(self):
        app = self.backend(name="app")
        self.start_lbd(pp_config([app], proxy_protocol=True))
        for data in (v2("1.2.3.4")[:20], b"PROXY TCP4 1.2.3.4", b""):
            c = self.raw()
            c.send(data)
            started = time.monotonic()
            self.assertTrue(c.closed_within(HEADER_TIMEOUT + 2), repr(data))
            self.assertGreater(time.monotonic() - started, HEADER_TIMEOUT * 0.5)
        self.assertEqual(app.connections, 0)
        self.assertIn("PROXY header not complete within timeouts.header", self.lbd.stderr())

    def test_proxy_header_comes_before_tls(self):
        app = self.backend(name="app")
        cert, key = make_cert(self.tmp.name, "site", "example.com", ["example.com"])
        self.start_lbd(pp_config([app], proxy_protocol=True, tls={"certificates": [{"cert": cert, "key": key}]}))
        ctx = ssl.create_default_context(cafile=cert)
        for header in (v1("198.51.100.20"), v2("198.51.100.21")):
            raw = socket.create_connection(("127.0.0.1", self.lbd.port), timeout=5)
            self.addCleanup(raw.close)
            raw.sendall(header)
            s = ctx.wrap_socket(raw, server_hostname="example.com")
            s.sendall(build_request("GET", "/", host="example.com"))
            reader = SocketReader(s)
            resp = Response(reader.read_until(b"\r\n\r\n"))
            body = read_body(reader, resp, until_eof=False)
            doc = json.loads(body)
            self.assertEqual(header_values(doc, "X-Forwarded-Proto"), ["https"])
            self.assertIn(header_values(doc, "X-Real-IP")[0], ("198.51.100.20", "198.51.100.21"))
            s.close()
        # TLS without the header first is refused like plain text.
        raw = socket.create_connection(("127.0.0.1", self.lbd.port), timeout=5)
        self.addCleanup(raw.close)
        with self.assertRaises((ssl.SSLError, OSError)):
            ctx.wrap_socket(raw, server_hostname="example.com")
        self.assertEqual(app.request_count, 2)

    def test_untrusted_peer_must_send_the_header_but_is_not_believed(self):
        app = self.backend(name="app")
        self.start_lbd(pp_config([app], proxy_protocol=True, trusted_proxies=["127.0.0.1"]))
        self.assertEqual(header_values(self.through(v1("198.51.100.7")), "X-Real-IP"), ["198.51.100.7"])
        c = HttpClient(self.lbd.port, source="127.0.0.2")
        self.addCleanup(c.close)
        c.send(v1("198.51.100.7"))
        self.assertEqual(header_values(echoed(c.request("GET", "/", host="x")), "X-Real-IP"), ["127.0.0.2"])


class TrustedProxiesTest(LbdTestCase):
    def test_rightmost_untrusted_forwarded_for_entry_is_the_client(self):
        app = self.backend(name="app")
        self.start_lbd(pp_config([app], trusted_proxies=["127.0.0.1/32", "10.0.0.0/8"]))
        chain = [("X-Forwarded-For", "6.6.6.6, 198.51.100.9"), ("X-Forwarded-For", "10.1.1.1")]
        doc = echoed(self.client().request("GET", "/", host="x", headers=chain))
        self.assertEqual(header_values(doc, "X-Real-IP"), ["198.51.100.9"])
        # The chain goes on, with the peer appended as usual.
        self.assertEqual(header_values(doc, "X-Forwarded-For"), ["6.6.6.6, 198.51.100.9, 10.1.1.1, 127.0.0.1"])
        # Every hop trusted: the leftmost. A garbled entry: no further than the last trusted hop.
        doc = echoed(self.client().request("GET", "/", host="x", headers=[("X-Forwarded-For", "10.0.0.3, 10.0.0.2")]))
        self.assertEqual(header_values(doc, "X-Real-IP"), ["10.0.0.3"])
        doc = echoed(self.client().request("GET", "/", host="x",
                                           headers=[("X-Forwarded-For", "1.1.1.1, not-an-ip, 10.0.0.2")]))
        self.assertEqual(header_values(doc, "X-Real-IP"), ["10.0.0.2"])
        # From a peer that is not trusted, X-Forwarded-For says nothing about the client.
        doc = echoed(self.client(source="127.0.0.2").request("GET", "/", host="x", headers=chain))
        self.assertEqual(header_values(doc, "X-Real-IP"), ["127.0.0.2"])
        self.assertTrue(wait_until(lambda: len(self.lbd.access_log()) == 4, 3), self.lbd.access_log())
        self.assertEqual([e["client"] for e in self.lbd.access_log()],
                         ["198.51.100.9", "10.0.0.3", "10.0.0.2", "127.0.0.2"])

    def test_rate_limit_counts_the_true_client(self):
        app = self.backend(name="app")
        cfg = pp_config([app], trusted_proxies=["127.0.0.1"])
        cfg["listeners"][0]["rate_limit"] = {"rps": 0.2, "burst": 0}
        self.start_lbd(cfg)

        def status(client):
            return self.client().request("GET", "/", host="x", headers=[("X-Forwarded-For", client)]).status

        # Two clients behind the same proxy each get their own allowance.
        self.assertEqual([status("198.51.100.1"), status("198.51.100.1"), status("198.51.100.2"),
                          status("198.51.100.2")], [200, 429, 200, 429])
        self.assertEqual(app.request_count, 2)

    def test_ip_hash_and_proxy_header_keep_a_client_on_one_backend(self):
        backends = self.backends(3)
        cfg = config([pool("app", backends, strategy="ip_hash")])
        cfg["listeners"][0]["proxy_protocol"] = True
        self.start_lbd(cfg)

        def served_by(client):
            c = HttpClient(self.lbd.port)
            self.addCleanup(c.close)
            c.send(v1(client))
            return echoed(c.request("GET", "/", host="x"))["backend"]

        clients = [f"198.51.100.{i}" for i in range(1, 13)]
        first = {ip: served_by(ip) for ip in clients}
        self.assertEqual({ip: served_by(ip) for ip in clients}, first)
        # All come from 127.0.0.1; hashing on it would pin them to one backend.
        self.assertGreater(len(set(first.values())), 1)


class SendProxyProtocolTest(LbdTestCase):
    def start_proxy_backend(self, version, **pool_kw):
        app = ProxyBackend("app").start()
        self.addCleanup(app.stop)
        cfg = pp_config([app], proxy_protocol=True)
        cfg["pools"][0].update(send_proxy_protocol=version, **pool_kw)
        self.start_lbd(cfg)
        return app

    def test_v1_names_the_client_on_each_new_connection(self):
        app = self.start_proxy_backend("v1")
        c = HttpClient(self.lbd.port)
        self.addCleanup(c.close)
        c.send(v1("198.51.100.7", "192.0.2.80", 40001, 443))
        for _ in range(3):  # one upstream connection, reused
            self.assertEqual(c.request("GET", "/", host="x").status, 200)
        self.assertEqual(app.headers, [(1, "PROXY TCP4 198.51.100.7 192.0.2.80 40001 443\r\n")])
        self.assertEqual(app.request_count, 3)

    def test_load_report_polls_send_the_header_too(self):
        # A backend that wants a PROXY header on every connection serves its
        # load report only to a poll that sends one (v2 LOCAL, as checks do).
        def stats(ex, req):
            return ex.respond(200, b"queue_depth 7\n", headers=[("Content-Type", "text/plain")])

        app = ProxyBackend("app", handler=fb.when(lambda req: req.target == "/stats", stats)).start()
        self.addCleanup(app.stop)
        cfg = pp_config([app], proxy_protocol=True)
        cfg["pools"][0].update(send_proxy_protocol="v2", strategy="least_load",
                               load_report={"metric": "queue_depth", "path": "/stats", "interval": "200ms"})
        self.start_lbd(cfg)
        self.assertTrue(wait_until(lambda: scrape(self.lbd.admin_port).value(
            "lbd_backend_reported_load", pool="app", backend="app") == 7, 5))
        self.assertIn((2, ("LOCAL", 0)), app.headers)

    def test_v2_names_the_client_and_health_checks_send_local(self):
        app = self.start_proxy_backend("v2", health_check={"path": "/healthz", "interval": "200ms", "timeout": "1s",
                                                           "rise": 1, "fall": 1})
        self.assertTrue(wait_until(lambda: any(h == (2, ("LOCAL", 0)) for h in app.headers), 5), app.headers)
        c = HttpClient(self.lbd.port)
        self.addCleanup(c.close)
        c.send(v2("203.0.113.5", "192.0.2.80", 5555, 8443))
        self.assertEqual(c.request("GET", "/", host="x").status, 200)
        self.assertIn((2, ("PROXY", "203.0.113.5", "192.0.2.80", 5555, 8443)), app.headers)
        metrics = scrape(self.lbd.admin_port)
        self.assertEqual(metrics.value("lbd_backend_up", pool="app", backend="app"), 1)


if __name__ == "__main__":
    unittest.main()
