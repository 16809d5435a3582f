"""TLS to backends (issue 15 part 3): a pool's `tls:` block makes every
connection to its backends TLS, verified against ca_file with server_name
(or the backend's host) as SNI and the name checked; a backend whose
certificate fails (unknown CA, wrong name, expired) gets no request and the
client a 502, with a log line that says why; `verify: false` only when
said; a client certificate for backends that require one; sessions resumed
across connections; health checks over the same TLS; certificates re-read
on reload. Certificates are made here with the openssl CLI; backends are
Python ssl servers; curl is a client."""
import os
import shutil
import ssl
import subprocess
import threading
import unittest

import fake_backend as fb
from httpwire import SocketReader, wait_until
from lbd_harness import LbdTestCase, config, echoed, header_values, pool, reload_config
from prom_text import scrape


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Pki:
    """A CA and certificates it signs, in `directory`."""

    def __init__(self, directory, name="ca"):
        self.dir = directory
        self.ca_key = os.path.join(directory, name + ".key")
        self.ca = os.path.join(directory, name + ".pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", f"/CN=lbd test {name}", "-keyout", self.ca_key, "-out", self.ca)

    def issue(self, name, sans, days=2, expired=False, client=False):
        key, csr, cert = (os.path.join(self.dir, name + ext) for ext in (".key", ".csr", ".pem"))
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join(sans) + "\n")
            f.write("extendedKeyUsage=" + ("clientAuth" if client else "serverAuth") + "\n")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=" + name, "-keyout", key, "-out", csr)
        args = ["x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
                "-extfile", ext, "-out", cert]
        openssl(*args, "-days", str(days))
        if expired:
            self.backdate(cert)
        return cert, key

    def backdate(self, cert_path):
        """Re-issues the certificate with a validity that ended in 2020
        (`openssl ca` can set past dates; `openssl x509` 3.0 cannot)."""
        d = os.path.join(self.dir, "ca-db")
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        cnf = os.path.join(d, "ca.cnf")
        with open(cnf, "w") as f:
            f.write(f"[ca]\ndefault_ca = test\n[test]\ndatabase = {d}/index.txt\nnew_certs_dir = {d}\n"
                    f"serial = {d}/serial\ndefault_md = sha256\npolicy = any\ncopy_extensions = copy\n"
                    "[any]\ncommonName = supplied\n")
        name = cert_path[:-len(".pem")]
        openssl("ca", "-batch", "-config", cnf, "-cert", self.ca, "-keyfile", self.ca_key, "-in", name + ".csr",
                "-extfile", name + ".ext", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
                "-notext", "-out", cert_path)


class TlsBackend(fb.FakeBackend):
    """A FakeBackend that speaks TLS with `cert`; with `client_ca` it
    requires a client certificate signed by it. Records handshakes and
    whether each resumed a session."""

    def __init__(self, name, cert, key, client_ca=None, **kw):
        super().__init__(name, **kw)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        if client_ca:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(client_ca)
        self.handshakes = []      # session_reused per completed handshake
        self.client_certs = []    # subject CN of the client certificate, per handshake
        self.handshake_errors = 0

    def _serve(self, sock):
        sock.settimeout(5)
        try:
            tls = self.ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            with self.lock:
                self.handshake_errors += 1
            sock.close()
            return
        peer = tls.getpeercert()
        with self.lock:
            self.handshakes.append(tls.session_reused)
            if peer:
                self.client_certs.append(dict(x[0] for x in peer["subject"])["commonName"])
            self._open.add(tls)
        super()._serve(tls)


class UpstreamTlsTest(LbdTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(self.tmp.name)
        self.good = self.pki.issue("backend", ["DNS:app.internal", "IP:127.0.0.1"])

    def tls_backend(self, pair=None, **kw):
        cert, key = pair or self.good
        b = TlsBackend(f"b{self._backend_seq()}", cert, key, **kw).start()
        self.addCleanup(b.stop)
        return b

    def start(self, backends, tls, **pool_kw):
        return self.start_lbd(config([pool("app", backends, tls=tls, **pool_kw)]))

    def test_verified_backend_serves_and_sessions_resume(self):
        b = self.tls_backend()
        self.start([b], {"ca_file": self.pki.ca, "server_name": "app.internal"},
                   keepalive={"max_idle": 0, "idle_timeout": "1s"})  # a new connection per request
        for _ in range(4):
            doc = echoed(self.client().request("GET", "/x", host="x"))
            self.assertEqual(doc["target"], "/x")
        self.assertEqual(len(b.handshakes), 4)
        self.assertFalse(b.handshakes[0])
        self.assertTrue(all(b.handshakes[1:]), f"sessions not resumed: {b.handshakes}")
        # curl through lbd: the client side is plain HTTP here.
        out = subprocess.run(["curl", "-sS", "-m", "5", f"http://127.0.0.1:{self.lbd.port}/curl"],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('"target": "/curl"', out.stdout)

    def test_the_address_host_is_the_default_name(self):
        b = self.tls_backend()  # its certificate has IP:127.0.0.1
        self.start([b], {"ca_file": self.pki.ca})
        c = self.client()
        for _ in range(3):
            self.assertEqual(c.request("GET", "/", host="x").status, 200)
        # Upstream keep-alive: one handshake carried all three.
        self.assertEqual(len(b.handshakes), 1)

    def assert_refused(self, backend, tls, why):
        self.start([backend], tls, retries=0)
        resp = self.client().request("GET", "/", host="x")
        self.assertEqual(resp.status, 502)
        self.assertEqual(backend.request_count, 0)
        self.assertTrue(wait_until(lambda: why in self.lbd.stderr(), 5), self.lbd.stderr())

    def test_unknown_ca_is_a_502_that_says_why(self):
        other = Pki(self.tmp.name, "other-ca")
        self.assert_refused(self.tls_backend(other.issue("stranger", ["DNS:app.internal"])),
                            {"ca_file": self.pki.ca, "server_name": "app.internal"},
                            "unable to get local issuer certificate")

    def test_wrong_name_is_a_502_that_says_why(self):
        self.assert_refused(self.tls_backend(), {"ca_file": self.pki.ca, "server_name": "db.internal"},
                            "hostname mismatch")

    def test_expired_certificate_is_a_502_that_says_why(self):
        self.assert_refused(self.tls_backend(self.pki.issue("old", ["DNS:app.internal"], expired=True)),
                            {"ca_file": self.pki.ca, "server_name": "app.internal"}, "certificate has expired")

    def test_verify_false_accepts_what_it_is_told_to(self):
        other = Pki(self.tmp.name, "other-ca")
        b = self.tls_backend(other.issue("stranger", ["DNS:elsewhere"]))
        self.start([b], {"verify": False})
        self.assertEqual(self.client().request("GET", "/", host="x").status, 200)

    def test_mutual_tls(self):
        client_pair = self.pki.issue("lbd-client", ["DNS:lbd"], client=True)
        b = self.tls_backend(client_ca=self.pki.ca)
        tls = {"ca_file": self.pki.ca, "server_name": "app.internal"}
        # A new connection per request, so the reload below is felt at once.
        self.start([b], dict(tls, cert=client_pair[0], key=client_pair[1]), keepalive={"max_idle": 0, "idle_timeout": "1s"})
        self.assertEqual(self.client().request("GET", "/", host="x").status, 200)
        self.assertEqual(b.client_certs, ["lbd-client"])
        # Without the certificate the backend refuses the handshake: 502.
        self.lbd.cfg["pools"][0]["tls"] = tls
        reload_config(self.lbd)
        self.assertEqual(self.client().request("GET", "/", host="x").status, 502)
        self.assertEqual(b.request_count, 1)

    def test_health_checks_use_the_same_tls(self):
        good, stranger = self.tls_backend(), self.tls_backend(Pki(self.tmp.name, "x").issue("s", ["DNS:app.internal"]))
        self.start([good, stranger], {"ca_file": self.pki.ca, "server_name": "app.internal"},
                   health_check={"path": "/healthz", "interval": "200ms", "timeout": "1s", "rise": 1, "fall": 1})

        def up(name):
            return scrape(self.lbd.admin_port).value("lbd_backend_up", pool="app", backend=name)

        # Backends start up: the good one is proven only by a check it got
        # (checks start at random points of the first interval).
        self.assertTrue(wait_until(lambda: up(good.name) == 1 and up(stranger.name) == 0
                                   and any(r.target == "/healthz" for r in good.requests), 10))
        self.assertEqual(stranger.request_count, 0)

    def test_load_report_polls_use_the_same_tls(self):
        def stats(ex, req):
            return ex.respond(200, b"queue_depth 3\n", headers=[("Content-Type", "text/plain")])

        b = self.tls_backend(handler=fb.when(lambda req: req.target == "/stats", stats))
        self.start([b], {"ca_file": self.pki.ca, "server_name": "app.internal"}, strategy="least_load",
                   load_report={"metric": "queue_depth", "path": "/stats", "interval": "200ms"})
        self.assertTrue(wait_until(lambda: scrape(self.lbd.admin_port).value(
            "lbd_backend_reported_load", pool="app", backend=b.name) == 3, 5))
        self.assertEqual(b.handshake_errors, 0)

    def test_ca_file_is_reread_on_reload(self):
        b = self.tls_backend()
        ca = os.path.join(self.tmp.name, "trusted.pem")
        other = Pki(self.tmp.name, "other-ca")
        shutil.copy(other.ca, ca)
        self.start([b], {"ca_file": ca, "server_name": "app.internal"}, retries=0)
        self.assertEqual(self.client().request("GET", "/", host="x").status, 502)
        shutil.copy(self.pki.ca, ca)
        reload_config(self.lbd)
        self.assertEqual(self.client().request("GET", "/", host="x").status, 200)


if __name__ == "__main__":
    unittest.main()
