"""Hitless reload on SIGHUP (issue 7 §2): a valid file replaces pools,
backends, strategies and listeners while traffic flows, without a failed
request; a broken file changes nothing and is logged; unchanged listening
sockets are kept, removed ones drain."""
import errno
import os
import re
import signal
import socket
import threading
import time
from collections import Counter

from demo_backends import DemoBackend
from httpwire import ConnectionClosed, HttpClient, build_request, get, wait_until
from lbd_harness import LbdTestCase, config, free_port, pool, to_yaml
from prom_text import scrape
import fake_backend as fb

LOAD_SECONDS = 20.0
RELOAD_EVERY = 0.2
KEEPALIVE_CLIENTS = 4
NEW_CONNECTION_CLIENTS = 2


def listening_inodes(port):
    """Inodes of the sockets listening on 127.0.0.1:port (SO_REUSEPORT: one
    per worker), from /proc/net/tcp: the same inodes mean the same sockets."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and local == f"0100007F:{port:04X}":
                inodes.add(inode)
    return inodes


class ReloadCase(LbdTestCase):
    def write_config(self, lbd, cfg):
        """Replace the file atomically, as a config management tool would."""
        tmp = lbd.config_path + ".new"
        with open(tmp, "w") as f:
            f.write(to_yaml(cfg) + "\n")
        os.replace(tmp, lbd.config_path)

    def reload(self, lbd, cfg):
        """Write cfg, SIGHUP, wait until lbd says it reloaded."""
        before = lbd.stderr().count("reloaded ")
        self.write_config(lbd, cfg)
        lbd.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: lbd.stderr().count("reloaded ") > before, 5),
                        f"no reload logged:\n{lbd.stderr()}")
        time.sleep(0.1)  # workers take the snapshot on their next loop turn

    def demo_backends(self, *names):
        backends = [DemoBackend(n) for n in names]
        for b in backends:
            self.addCleanup(b.stop)
        return backends


class ReloadUnderLoadTest(ReloadCase):
    def test_reloads_every_200ms_under_load_fail_nothing(self):
        a1, a2, b1, b2 = self.demo_backends("a1", "a2", "b1", "b2")
        cfg_a = config([pool("app", [a1, a2], strategy="round_robin")])
        cfg_a["workers"] = 2
        cfg_a["log"]["access_log"] = "off"
        lbd = self.start_lbd(cfg_a)
        cfg_a = lbd.cfg  # ports filled in
        # B also adds a listener that A removes: sockets are bound and closed
        # every 400 ms next to the one the clients use.
        extra = dict(cfg_a["listeners"][0], name="extra", listen=f"127.0.0.1:{free_port()}")
        cfg_b = dict(cfg_a, listeners=cfg_a["listeners"] + [extra],
                     pools=[pool("app", [b1, b2, a1], strategy="consistent_hash", hash_key="header:X-User")])

        stop = threading.Event()
        lock = threading.Lock()
        seen = Counter()
        problems = Counter()
        examples = []

        def record(kind, detail):
            with lock:
                problems[kind] += 1
                if len(examples) < 5:
                    examples.append(f"{kind}: {detail}")

        def check(resp):
            if resp.status != 200:
                record("status", resp.status)
                return
            with lock:
                seen[resp.header("X-Backend")] += 1

        def keepalive_client(n):
            client, i = None, 0
            while not stop.is_set():
                i += 1
                try:
                    if client is None:
                        client = HttpClient(lbd.port, timeout=5)
                    resp = client.request(headers=[("X-User", f"user{n}-{i % 50}")])
                    check(resp)
                    if resp.has_token("Connection", "close"):
                        record("closed by lbd", "Connection: close on a keep-alive request")
                        client.close()
                        client = None
                except ConnectionResetError as e:
                    record("reset", e)
                    client = None
                except (OSError, ConnectionClosed, ValueError) as e:
                    record("failed", repr(e))
                    client = None
            if client:
                client.close()

        def new_connection_client(n):
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    check(get(lbd.port, "/", headers=[("X-User", f"fresh{n}-{i % 50}"),
                                                     ("Connection", "close")]))
                except ConnectionResetError as e:
                    record("reset", e)
                except (OSError, ConnectionClosed, ValueError) as e:
                    record("failed", repr(e))

        threads = [threading.Thread(target=keepalive_client, args=(n,)) for n in range(KEEPALIVE_CLIENTS)]
        threads += [threading.Thread(target=new_connection_client, args=(n,))
                    for n in range(NEW_CONNECTION_CLIENTS)]
        for t in threads:
            t.start()
        reloads = 0
        deadline = time.monotonic() + LOAD_SECONDS
        try:
            while time.monotonic() < deadline:
                time.sleep(RELOAD_EVERY)
                reloads += 1
                self.write_config(lbd, cfg_b if reloads % 2 else cfg_a)
                lbd.signal(signal.SIGHUP)
        finally:
            stop.set()
            for t in threads:
                t.join(10)

        total = sum(seen.values())
        print(f"\n{total} requests answered over {LOAD_SECONDS:.0f} s, {reloads} reloads; by backend: "
              f"{dict(seen)}; problems: {dict(problems)}")
        self.assertEqual(sum(problems.values()), 0, f"{dict(problems)}: {examples}")
        self.assertGreater(total, 1000)
        # Both configs served: a2 exists only in A, b1 and b2 only in B.
        for name in ("a1", "a2", "b1", "b2"):
            self.assertGreater(seen[name], 0, f"{name} never answered: {dict(seen)}")
        log = lbd.stderr()
        self.assertNotIn("reload refused", log)
        self.assertGreaterEqual(log.count("reloaded "), reloads * 0.8, "SIGHUPs lost")

        # Each config's strategy, once it is the one that stays.
        self.reload(lbd, cfg_b)
        pinned = {get(lbd.port, "/", headers=[("X-User", "alice")]).header("X-Backend") for _ in range(10)}
        self.assertEqual(len(pinned), 1, "consistent_hash did not pin X-User: alice")
        spread = {get(lbd.port, "/", headers=[("X-User", f"u{i}")]).header("X-Backend") for i in range(40)}
        self.assertEqual(spread, {"b1", "b2", "a1"})
        self.reload(lbd, cfg_a)
        client = self.client()
        names = [client.request(headers=[("X-User", "alice")]).header("X-Backend") for _ in range(4)]
        self.assertEqual(sorted(names), ["a1", "a1", "a2", "a2"], "round_robin after the reload")


class ReloadTest(ReloadCase):
    def test_broken_file_changes_nothing_and_is_logged(self):
        old, new = self.backend(name="old"), self.backend(name="new")
        lbd = self.start_lbd(config([pool("app", [old])]))
        broken = config([pool("app", [new], strategy="fastest")])
        broken["listeners"][0]["listen"] = f"127.0.0.1:{lbd.port}"
        broken["admin"]["listen"] = f"127.0.0.1:{lbd.admin_port}"
        self.write_config(lbd, broken)
        lbd.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload of" in lbd.stderr(), 5), lbd.stderr())
        log = lbd.stderr()
        self.assertRegex(log, r"reload refused: \S*lbd\.yaml:\d+:\d+: pools\[0\]\.strategy")
        self.assertIn("still serving generation 1", log)
        for _ in range(4):
            self.assertEqual(get(lbd.port).header("X-Backend"), "old")
        self.assertEqual(new.request_count, 0)
        self.assertTrue(lbd.running())
        metrics = scrape(lbd.admin_port)
        self.assertEqual(metrics.value("lbd_config_reloads_total", result="failure"), 1)
        self.assertEqual(metrics.value("lbd_config_reloads_total", result="success"), 0)
        self.assertEqual(metrics.value("lbd_config_last_reload_successful"), 0)

        fixed = dict(broken, pools=[pool("app", [new])])
        self.reload(lbd, fixed)
        self.assertEqual(get(lbd.port).header("X-Backend"), "new")
        metrics = scrape(lbd.admin_port)
        self.assertEqual(metrics.value("lbd_config_reloads_total", result="success"), 1)
        self.assertEqual(metrics.value("lbd_config_last_reload_successful"), 1)

    def test_routes_and_listener_limits_change_on_a_kept_listener(self):
        app, api = self.backend(name="app"), self.backend(name="api")
        lbd = self.start_lbd(config([pool("app", [app]), pool("api", [api])]))
        self.assertEqual(get(lbd.port, "/v1/x").header("X-Backend"), "app")
        listener = dict(lbd.cfg["listeners"][0],
                        routes=[{"path_prefix": "/v1/", "pool": "api"}, {"pool": "app"}],
                        limits=dict(lbd.cfg["listeners"][0]["limits"], max_header_bytes="1KiB"))
        self.reload(lbd, dict(lbd.cfg, listeners=[listener]))
        self.assertEqual(get(lbd.port, "/v1/x").header("X-Backend"), "api")
        self.assertEqual(get(lbd.port, "/other").header("X-Backend"), "app")
        self.assertEqual(get(lbd.port, "/", headers=[("X-Big", "x" * 2000)]).status, 431)

    def test_upstream_connections_of_kept_backends_survive_reload(self):
        kept, dropped, added = (self.backend(name=n) for n in ("kept", "dropped", "added"))
        lbd = self.start_lbd(config([pool("app", [kept, dropped])]))
        for _ in range(4):
            self.assertEqual(get(lbd.port).status, 200)
        self.assertEqual((kept.connections, dropped.connections), (1, 1))
        self.reload(lbd, dict(lbd.cfg, pools=[pool("app", [kept, added], strategy="least_connections")]))
        for _ in range(4):
            self.assertEqual(get(lbd.port).status, 200)
        # The pooled connection to "kept" is reused; the idle one to the
        # removed backend is closed.
        self.assertEqual(kept.connections, 1)
        self.assertTrue(wait_until(lambda: dropped.peer_closes == 1, 3))
        self.assertEqual(added.connections, 1)

    def test_added_listener_is_bound_and_unchanged_one_keeps_its_sockets(self):
        backend = self.backend()
        cfg = config([pool("app", [backend])])
        cfg["workers"] = 2
        lbd = self.start_lbd(cfg)
        web_sockets = listening_inodes(lbd.port)
        self.assertEqual(len(web_sockets), 2, "one SO_REUSEPORT socket per worker")
        api_port = free_port()
        api = dict(lbd.cfg["listeners"][0], name="api", listen=f"127.0.0.1:{api_port}")
        self.reload(lbd, dict(lbd.cfg, listeners=lbd.cfg["listeners"] + [api]))
        self.assertEqual(get(api_port).status, 200)
        self.assertEqual(len(listening_inodes(api_port)), 2)
        self.assertEqual(listening_inodes(lbd.port), web_sockets, "web's sockets were reopened")
        self.assertEqual(get(lbd.port).status, 200)

    def test_removed_listener_stops_accepting_and_drains(self):
        backend = self.backend(fb.when(lambda req: req.target == "/slow", fb.delayed(1.5)))
        cfg = config([pool("app", [backend])])
        api_port = free_port()
        cfg["listeners"].append(dict(cfg["listeners"][0], name="api", listen=f"127.0.0.1:{api_port}"))
        lbd = self.start_lbd(cfg)
        idle = self.client(api_port)
        self.assertEqual(idle.request().status, 200)
        busy = self.client(api_port)
        self.assertEqual(busy.request().status, 200)
        busy.send(build_request("GET", "/slow"))
        time.sleep(0.3)  # at the backend now

        self.reload(lbd, dict(lbd.cfg, listeners=lbd.cfg["listeners"][:1]))
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", api_port), timeout=2).close()
        self.assertClosedPromptly(idle)
        resp = busy.read_response()
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.has_token("Connection", "close"), resp)
        self.assertClosedPromptly(busy)
        self.assertEqual(get(lbd.port).status, 200)  # web untouched

    def test_moved_listener(self):
        lbd = self.start_lbd(config([pool("app", [self.backend()])]))
        keepalive = self.client()
        self.assertEqual(keepalive.request().status, 200)
        old_port, new_port = lbd.port, free_port()
        moved = dict(lbd.cfg["listeners"][0], listen=f"127.0.0.1:{new_port}")
        self.reload(lbd, dict(lbd.cfg, listeners=[moved]))
        self.assertEqual(get(new_port).status, 200)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", old_port), timeout=2).close()
        self.assertClosedPromptly(keepalive)

    def test_listener_that_cannot_bind_fails_the_whole_reload(self):
        old, new = self.backend(name="old"), self.backend(name="new")
        lbd = self.start_lbd(config([pool("app", [old])]))
        squatter = socket.create_server(("127.0.0.1", 0))  # no SO_REUSEPORT
        self.addCleanup(squatter.close)
        taken = squatter.getsockname()[1]
        api = dict(lbd.cfg["listeners"][0], name="api", listen=f"127.0.0.1:{taken}")
        self.write_config(lbd, dict(lbd.cfg, listeners=lbd.cfg["listeners"] + [api],
                                    pools=[pool("app", [new])]))
        lbd.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload of" in lbd.stderr(), 5), lbd.stderr())
        self.assertRegex(lbd.stderr(), rf"reload refused: listener api: cannot listen on 127.0.0.1:{taken}")
        self.assertEqual(get(lbd.port).header("X-Backend"), "old")


class RefusedReloadChangesNothingTest(ReloadCase):
    """Issue 12, defect 7: a reload refused at its last step (a certificate
    that became unusable after the file was checked) must not have set the
    new weights on the live backends."""

    def test_weight_change_with_a_certificate_broken_mid_reload_is_refused_whole(self):
        from test_tls import make_cert
        cert, key = make_cert(self.tmp.name, "site", "example.com", ["example.com"])
        # The admin token is read after the file is checked and before the
        # snapshot is built: as a FIFO it holds lbd there while the test
        # breaks the certificate, as a renewal job racing a reload would.
        token_path = os.path.join(self.tmp.name, "admin.token")
        os.mkfifo(token_path)
        token = "s3cret-token"
        first_read = threading.Thread(target=feed_fifo, args=(token_path, token, 30.0), daemon=True)
        first_read.start()

        a, b = self.backend(name="a"), self.backend(name="b")
        cfg = config([pool("app", [a, b], strategy="weighted_round_robin")])
        cfg["admin"]["token_file"] = token_path
        secure = dict(cfg["listeners"][0], name="secure", listen=f"127.0.0.1:{free_port()}",
                      tls={"certificates": [{"cert": cert, "key": key}]})
        cfg["listeners"].append(secure)
        lbd = self.start_lbd(cfg, admin_token=token)
        first_read.join(5)
        self.assertEqual(self.split(lbd, 20), {"a": 10, "b": 10})

        heavier = dict(lbd.cfg, pools=[dict(lbd.cfg["pools"][0], backends=[
            {"name": "a", "address": a.address, "weight": 1},
            {"name": "b", "address": b.address, "weight": 9}])])
        self.write_config(lbd, heavier)
        lbd.signal(signal.SIGHUP)
        fd = open_fifo_writer(token_path, 10.0)  # lbd has checked the file and waits for the token
        with open(cert, "w") as f:
            f.write("not a certificate any more\n")
        os.write(fd, token.encode())
        os.close(fd)

        self.assertTrue(wait_until(lambda: "reload of" in lbd.stderr(), 5), lbd.stderr())
        self.assertRegex(lbd.stderr(), r"reload refused: .*cannot use certificate")
        self.assertTrue(lbd.running())
        metrics = self.scrape(lbd, token)
        self.assertEqual(metrics.value("lbd_config_reloads_total", result="failure"), 1)
        self.assertEqual(metrics.value("lbd_config_reloads_total", result="success"), 0)
        self.assertEqual(self.split(lbd, 20), {"a": 10, "b": 10}, "the refused weights took effect")

    def split(self, lbd, n):
        seen = Counter()
        for _ in range(n):
            resp = get(lbd.port)
            self.assertEqual(resp.status, 200, resp)
            seen[resp.header("X-Backend")] += 1
        return dict(seen)

    def scrape(self, lbd, token):
        from prom_text import Scrape
        r = get(lbd.admin_port, "/metrics", [("Authorization", f"Bearer {token}")])
        self.assertEqual(r.status, 200, r)
        return Scrape(r.body.decode())


def open_fifo_writer(path, timeout):
    """Opens the FIFO for writing once a reader has it open."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def feed_fifo(path, text, timeout):
    fd = open_fifo_writer(path, timeout)
    os.write(fd, text.encode())
    os.close(fd)


if __name__ == "__main__":
    import unittest
    unittest.main()
