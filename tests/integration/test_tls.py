"""TLS termination (issue 8 §1, §3): certificates chosen by SNI, ALPN
http/1.1, TLS 1.2+ only, session resumption, certificates re-read on reload,
bad and stalled handshakes dropped without disturbing good clients, and
streamed responses arriving chunk by chunk through TLS. Certificates are
made by the test with the openssl CLI; clients are Python's ssl module,
curl and `openssl s_client`."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import unittest

from httpwire import HttpClient, SocketReader, build_request, read_with_arrivals, sse_events, wait_until
from prom_text import scrape
from lbd_harness import LbdTestCase, config, echoed, free_port, header_values, pool, to_yaml
import fake_backend as fb
from demo_backends import DemoBackend
import wsclient
from wsclient import WebSocket

HEADER_TIMEOUT = 2.0  # the harness config's listener timeouts.header


def make_cert(directory, name, cn, sans):
    """A self-signed EC certificate and its key; returns (cert, key) paths."""
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=" + ",".join("DNS:" + s for s in sans),
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class TlsCase(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.site = make_cert(self.tmp.name, "site", "example.com", ["example.com", "www.example.com"])
        self.wild = make_cert(self.tmp.name, "wild", "*.example.org", ["*.example.org"])
        self.cafile = os.path.join(self.tmp.name, "ca.pem")
        self.write_cafile()

    def write_cafile(self):
        with open(self.cafile, "w") as out:
            for cert, _ in (self.site, self.wild):
                with open(cert) as f:
                    out.write(f.read())

    def tls_config(self, backends, pairs=None, **listener):
        cfg = config([pool("app", backends)])
        cfg["listeners"][0]["tls"] = {"certificates": [{"cert": c, "key": k} for c, k in (pairs or [self.site, self.wild])]}
        cfg["listeners"][0].update(listener)
        return cfg

    def context(self, verify=True, **kw):
        ctx = ssl.create_default_context(cafile=self.cafile)
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        for k, v in kw.items():
            setattr(ctx, k, v)
        return ctx

    def tls_client(self, server_name="www.example.com", ctx=None, session=None, port=None):
        """An HttpClient speaking TLS to lbd."""
        c = self.client(port)
        c.sock = (ctx or self.context()).wrap_socket(c.sock, server_hostname=server_name, session=session)
        c.reader = SocketReader(c.sock)
        return c

    def reload(self, lbd, cfg, expect="reloaded "):
        before = lbd.stderr().count(expect)
        tmp = lbd.config_path + ".new"
        with open(tmp, "w") as f:
            f.write(to_yaml(cfg) + "\n")
        os.replace(tmp, lbd.config_path)
        lbd.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: lbd.stderr().count(expect) > before, 5),
                        f"'{expect}' not logged:\n{lbd.stderr()}")
        time.sleep(0.1)


def peer_cn(sock):
    cert = sock.getpeercert()
    return dict(x[0] for x in cert["subject"])["commonName"]


def peer_der(port, server_name):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as s:
            return s.getpeercert(binary_form=True)


class TlsTest(TlsCase):
    def test_sni_picks_the_certificate(self):
        self.start_lbd(self.tls_config([self.backend()]))
        for name, cn in [("www.example.com", "example.com"), ("example.com", "example.com"),
                         ("chat.example.org", "*.example.org")]:
            c = self.tls_client(name)  # verifies the chain and the host name
            self.assertEqual(peer_cn(c.sock), cn, name)
            self.assertEqual(c.request("GET", "/", [("Host", name)]).status, 200)
        # No SNI: the first certificate is the default.
        c = self.tls_client(None, self.context(verify=False))
        self.assertIn(b"example.com", c.sock.getpeercert(binary_form=True))
        self.assertEqual(c.request("GET", "/").status, 200)

    def test_requests_proxy_with_forwarded_proto_https(self):
        backend = self.backend()
        self.start_lbd(self.tls_config([backend]))
        c = self.tls_client()
        for i in range(3):  # keep-alive over one TLS connection
            body = b"x" * (100_000 * i)
            doc = echoed(c.request("POST", f"/post/{i}", [("Host", "www.example.com")], body))
            self.assertEqual(doc["target"], f"/post/{i}")
            self.assertEqual(doc["body_length"], len(body))
            self.assertEqual(header_values(doc, "X-Forwarded-Proto"), ["https"])
        self.assertEqual(backend.request_count, 3)

    def test_alpn_prefers_h2_and_speaks_http11_to_the_rest(self):
        self.start_lbd(self.tls_config([self.backend()]))
        both = self.context()
        both.set_alpn_protocols(["h2", "http/1.1"])
        c = self.tls_client(ctx=both)
        self.assertEqual(c.sock.selected_alpn_protocol(), "h2")  # README "HTTP/2"
        c.close()
        http11 = self.context()
        http11.set_alpn_protocols(["http/1.1"])
        c = self.tls_client(ctx=http11)
        self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
        self.assertEqual(c.request("GET", "/").status, 200)

    def test_alpn_without_http2_answers_http11_and_refuses_h2_alone(self):
        self.start_lbd(self.tls_config([self.backend()], http2={"enabled": False}))
        ctx = self.context()
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        c = self.tls_client(ctx=ctx)
        self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
        self.assertEqual(c.request("GET", "/").status, 200)
        # A client that offers only h2 is refused (RFC 7301 no_application_protocol).
        only_h2 = self.context()
        only_h2.set_alpn_protocols(["h2"])
        with self.assertRaises(ssl.SSLError):
            self.tls_client(ctx=only_h2)

    def test_curl_and_openssl_s_client(self):
        self.start_lbd(self.tls_config([self.backend()]))
        port = self.lbd.port
        out = subprocess.run(["curl", "-sS", "-v", "--cacert", self.cafile, "--max-time", "10",
                              "--resolve", f"www.example.com:{port}:127.0.0.1",
                              f"https://www.example.com:{port}/curl"],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('"target": "/curl"', out.stdout)
        self.assertRegex(out.stderr, r"ALPN[:,] server accepted (to use )?h2")
        self.assertIn("CN=example.com", out.stderr)

        s = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                            "api.example.org", "-alpn", "http/1.1", "-CAfile", self.cafile,
                            "-verify_return_error", "-ign_eof"],
                           input=b"GET /s_client HTTP/1.1\r\nHost: api.example.org\r\nConnection: close\r\n\r\n",
                           capture_output=True, timeout=20)
        text = s.stdout.decode(errors="replace")
        self.assertEqual(s.returncode, 0, text + s.stderr.decode(errors="replace"))
        self.assertIn("ALPN protocol: http/1.1", text)
        self.assertIn("CN = *.example.org", text)
        self.assertIn("HTTP/1.1 200", text)
        self.assertIn('"target": "/s_client"', text)

    def test_tls_1_1_and_1_0_are_refused(self):
        self.start_lbd(self.tls_config([self.backend()]))
        for flag in ("-tls1_1", "-tls1"):
            s = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.lbd.port}",
                                "-servername", "www.example.com", flag, "-cipher", "DEFAULT@SECLEVEL=0"],
                               input=b"", capture_output=True, timeout=20)
            self.assertNotEqual(s.returncode, 0, flag)
            self.assertIn(b"no peer certificate available", s.stdout, flag)
        self.assertTrue(wait_until(lambda: "handshake failed" in self.lbd.stderr(), 3), self.lbd.stderr())
        # 1.2 and 1.3 are the versions on offer.
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = self.context(minimum_version=version, maximum_version=version)
            c = self.tls_client(ctx=ctx)
            self.assertEqual(c.sock.version(), {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version])
            self.assertEqual(c.request("GET", "/").status, 200)

    def test_min_version_1_3_refuses_1_2(self):
        cfg = self.tls_config([self.backend()])
        cfg["listeners"][0]["tls"]["min_version"] = "1.3"
        self.start_lbd(cfg)
        with self.assertRaises(ssl.SSLError):
            self.tls_client(ctx=self.context(maximum_version=ssl.TLSVersion.TLSv1_2))
        self.assertEqual(self.tls_client().sock.version(), "TLSv1.3")

    def resumes(self, version, lbd_reload=None):
        ctx = self.context(minimum_version=version, maximum_version=version)
        first = self.tls_client(ctx=ctx)
        self.assertEqual(first.request("GET", "/").status, 200)  # TLS 1.3 tickets come after the handshake
        session = first.sock.session
        self.assertFalse(first.sock.session_reused)
        first.close()
        if lbd_reload:
            lbd_reload()
        second = self.tls_client(ctx=ctx, session=session)
        self.assertEqual(second.request("GET", "/").status, 200)
        return second.sock.session_reused

    def test_session_resumption(self):
        self.start_lbd(self.tls_config([self.backend()]))
        self.assertTrue(self.resumes(ssl.TLSVersion.TLSv1_2), "TLS 1.2 session not resumed")
        self.assertTrue(self.resumes(ssl.TLSVersion.TLSv1_3), "TLS 1.3 session not resumed")
        # Ticket keys survive a reload: clients keep resuming.
        self.assertTrue(self.resumes(ssl.TLSVersion.TLSv1_3, lambda: self.reload(self.lbd, self.lbd.cfg)),
                        "session not resumed after a reload")

    def test_plain_http_to_the_tls_port_gets_a_clear_400(self):
        self.start_lbd(self.tls_config([self.backend()]))
        c = self.client()
        c.send(build_request("GET", "/"))
        resp = c.read_response()
        self.assertEqual(resp.status, 400)
        self.assertClosedPromptly(c)
        self.assertIn("plain HTTP request sent to a TLS port", self.lbd.stderr())
        self.assertEqual(self.tls_client().request("GET", "/").status, 200)

    def test_bad_and_stalled_handshakes_do_not_disturb_good_clients(self):
        backend = self.backend()
        self.start_lbd(self.tls_config([backend]))
        port = self.lbd.port
        stalled = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
        for i, s in enumerate(stalled):
            if i % 2:  # half send the start of a ClientHello, then nothing
                s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        garbage = []
        for i in range(20):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"NOT TLS AT ALL\r\n" * 10 if i % 2 else b"\x16\x03\x03\x00\x05hello" + b"\x00" * 50)
            garbage.append(s)
        self.addCleanup(lambda: [s.close() for s in stalled + garbage])

        errors = []

        def good_client(n):
            try:
                c = HttpClient(port)
                c.sock = self.context().wrap_socket(c.sock, server_hostname="www.example.com")
                c.reader = SocketReader(c.sock)
                for i in range(5):
                    if c.request("GET", f"/good/{n}/{i}").status != 200:
                        errors.append(f"client {n}: bad status")
                c.close()
            except Exception as e:  # noqa: BLE001 -- collected and asserted below
                errors.append(f"client {n}: {e!r}")

        threads = [threading.Thread(target=good_client, args=(n,)) for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(backend.request_count, 50)

        def closed(s, timeout):
            s.settimeout(timeout)
            try:
                while s.recv(4096):  # an alert may come first
                    pass
                return True
            except (ConnectionResetError, BrokenPipeError):
                return True
            except socket.timeout:
                return False

        start = time.monotonic()
        for s in garbage:
            self.assertTrue(closed(s, 3), "a garbage handshake was not dropped")
        for s in stalled:
            self.assertTrue(closed(s, HEADER_TIMEOUT + 3), "a stalled handshake was not dropped")
        self.assertLess(time.monotonic() - start, HEADER_TIMEOUT + 4)
        log = self.lbd.stderr()
        self.assertIn("TLS handshake failed", log)
        self.assertIn("TLS handshake not done within timeouts.header", log)
        self.assertEqual(self.tls_client().request("GET", "/after").status, 200)

    def test_a_client_silent_after_its_handshake_is_closed_at_timeouts_header(self):
        # The deadline counted from the accept covers the handshake and the
        # first request; it is not the keep-alive wait between requests
        # (timeouts.idle), even once lbd has written its handshake flights
        # and TLS 1.3 session tickets.
        cfg = self.tls_config([self.backend()])
        cfg["listeners"][0]["timeouts"]["idle"] = "30s"
        self.start_lbd(cfg)
        c = self.tls_client(ctx=self.context(minimum_version=ssl.TLSVersion.TLSv1_3))
        start = time.monotonic()
        self.assertTrue(c.closed_within(HEADER_TIMEOUT + 3), "still open 3 s past timeouts.header")
        self.assertGreater(time.monotonic() - start, HEADER_TIMEOUT - 0.5, "closed before timeouts.header")

    def test_a_client_gone_without_close_notify_frees_its_connection_at_once(self):
        # The client closes right after the handshake, while lbd's TLS 1.3
        # session tickets are still on their way: lbd reads the end, its
        # close_notify meets a reset socket, and the connection must go then,
        # not sit in a lingering close until timeouts.send (30 s here).
        cfg = self.tls_config([self.backend()])
        cfg["listeners"][0]["timeouts"].update({"header": "30s", "idle": "30s", "send": "30s"})
        lbd = self.start_lbd(cfg)
        ctx = self.context(minimum_version=ssl.TLSVersion.TLSv1_3)
        for _ in range(20):
            sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", lbd.port)),
                                   server_hostname="www.example.com")
            sock.close()  # no close_notify: Python's close() sends none
        self.assertTrue(wait_until(
            lambda: scrape(lbd.admin_port).value("lbd_connections_active", listener="web") == 0, 10),
            "connections of clients that left are still held")
        self.assertEqual(self.tls_client().request("GET", "/after").status, 200)

    def test_server_sent_events_arrive_one_by_one_through_tls(self):
        events, interval = 3, 1.0
        backend = self.backend(fb.events(events, interval))
        self.start_lbd(self.tls_config([backend]))
        c = self.tls_client()
        c.send(build_request("GET", "/events", [("Accept", "text/event-stream")]))
        resp, arrived = read_with_arrivals(c, sse_events)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, b"".join(b"id: %d\ndata: event %d\n\n" % (i, i) for i in range(events)))
        for i in range(events - 1):
            self.assertLess(arrived[i], backend.sent_at[i + 1],
                            f"event {i} arrived only after event {i + 1} was sent")


class TlsReloadTest(TlsCase):
    def test_reload_rereads_certificates_and_refuses_a_bad_one(self):
        backend = self.backend()
        lbd = self.start_lbd(self.tls_config([backend]))
        before = peer_der(lbd.port, "www.example.com")
        # Renew the certificate in place, as certbot would.
        renewed = make_cert(self.tmp.name, "renewed", "example.com", ["example.com", "www.example.com"])
        shutil.copy(renewed[0], self.site[0])
        shutil.copy(renewed[1], self.site[1])
        cfg = lbd.cfg  # the same file, ports filled in
        self.reload(lbd, cfg)
        after = peer_der(lbd.port, "www.example.com")
        self.assertNotEqual(before, after)
        with open(renewed[0]) as f:
            self.assertEqual(after, ssl.PEM_cert_to_DER_cert(f.read()))

        # A key that does not match: the reload is refused, naming the file.
        shutil.copy(self.wild[1], self.site[1])
        self.reload(lbd, cfg, expect="reload refused")
        self.assertIn(f"private key '{self.site[1]}' does not match certificate '{self.site[0]}'", lbd.stderr())
        self.assertEqual(peer_der(lbd.port, "www.example.com"), after)

    def test_tls_listener_added_on_reload(self):
        backend = self.backend()
        cfg = config([pool("app", [backend])])
        lbd = self.start_lbd(cfg)
        port = free_port()
        added = dict(cfg["listeners"][0], name="secure", listen=f"127.0.0.1:{port}",
                     tls={"certificates": [{"cert": self.site[0], "key": self.site[1]}]})
        cfg["listeners"].append(added)
        self.reload(lbd, cfg)
        c = self.tls_client(port=port)
        self.assertEqual(header_values(echoed(c.request("GET", "/")), "X-Forwarded-Proto"), ["https"])


class TlsCheckTest(TlsCase):
    def test_check_names_the_mismatched_key(self):
        cfg = self.tls_config([], pairs=[(self.site[0], self.wild[1])])
        cfg["pools"][0]["backends"] = [{"name": "a", "address": "127.0.0.1:1"}]
        cfg["admin"]["listen"] = "127.0.0.1:9901"
        cfg["listeners"][0]["listen"] = "127.0.0.1:8443"
        path = os.path.join(self.tmp.name, "check.yaml")
        with open(path, "w") as f:
            f.write(to_yaml(cfg) + "\n")
        from lbd_harness import LBD_BIN
        out = subprocess.run([LBD_BIN, "--check", "-c", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2, out.stdout)
        self.assertRegex(out.stdout, rf"check\.yaml:\d+:\d+: listeners\[0\]\.tls\.certificates\[0\]\.key: "
                                     rf"private key '{self.wild[1]}' does not match certificate '{self.site[0]}'")


class TlsWebSocketTest(TlsCase):
    """WebSocket tunnels over a TLS listener: the tunnel relays plaintext
    while TLS stays below the client connection."""

    def open_ws(self, path):
        factory = lambda: self.context().wrap_socket(
            socket.create_connection(("127.0.0.1", self.lbd.port), timeout=5), server_hostname="www.example.com")
        ws = WebSocket.open(factory, path)
        self.addCleanup(ws.abandon)
        return ws

    def start_with_echo_backend(self):
        backend = DemoBackend("ws1")
        self.addCleanup(backend.stop)
        self.start_lbd(self.tls_config([backend]))

    def test_messages_echo_through_tls(self):
        self.start_with_echo_backend()
        ws = self.open_ws("/ws")
        for m in ["hello", "x" * 70000, bytes(range(256)) * 512]:
            ws.send(m)
            self.assertEqual(ws.recv(), m)
        self.assertEqual(ws.close(1000), 1000)
        self.assertTrue(ws.wait_eof(3), "lbd kept the TLS client open after the close handshake")

    def test_backend_close_closes_the_tls_client(self):
        self.start_with_echo_backend()
        ws = self.open_ws("/ws?close_after=2")
        ws.send("one")
        ws.send("two")
        self.assertEqual(ws.recv(), "one")
        self.assertEqual(ws.recv(), "two")
        self.assertEqual(ws.recv_frame(), (wsclient.CLOSE, b"\x03\xe8"))
        self.assertTrue(ws.wait_eof(3), "the backend closed but the TLS client was kept open")


if __name__ == "__main__":
    unittest.main()
