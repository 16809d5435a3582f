"""Backends found by DNS (issue 15 part 2) against a real DNS server: a
local dnsmasq, started by each test on a loopback port, whose records the
test changes (its hosts file, re-read on SIGHUP). A host name that moves,
a discovery pool whose members change, both under load without a failed
request; a DNS server that stops answering; SRV records with weights;
`lbd --check` naming what does not resolve."""
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

from httpwire import HttpClient, get, wait_until
from lbd_harness import LBD_BIN, SOURCE_DIR, LbdTestCase, config, free_port, pool, port_accepts, to_yaml
from prom_text import scrape
import fake_backend as fb

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


class Dnsmasq:
    """dnsmasq on 127.0.0.1:<free port>, answering only from its own files:
    `hosts` (addn-hosts, re-read on SIGHUP) and `conf` lines (srv-host=...).
    Answers carry a 1 s TTL. As root it drops to nobody, so its files are
    made world-readable."""

    def __init__(self, workdir, hosts="", conf=""):
        self.port = free_port()
        self.dir = os.path.join(workdir, "dns")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(workdir, 0o755)
        os.chmod(self.dir, 0o755)
        self.hosts_path = os.path.join(self.dir, "hosts")
        self.conf_path = os.path.join(self.dir, "dnsmasq.conf")
        self.log_path = os.path.join(self.dir, "dnsmasq.log")
        self._write(self.hosts_path, hosts)
        self._write(self.conf_path, conf)
        self.proc = None

    def _write(self, path, text):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)

    def start(self):
        cmd = [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
               "--listen-address=127.0.0.1", f"--port={self.port}", f"--addn-hosts={self.hosts_path}",
               f"--conf-file={self.conf_path}", "--local-ttl=1", "--pid-file=", "--log-facility=-",
               "--cache-size=0"]
        if os.geteuid() == 0:
            cmd += ["--user=nobody", "--group=nogroup"]  # never serve as root
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        if not wait_until(lambda: self.proc.poll() is None and port_accepts(self.port), 5):
            raise AssertionError(f"dnsmasq did not start:\n{self.log()}")
        return self

    def set_hosts(self, text):
        self._write(self.hosts_path, text)
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    @property
    def nameserver(self):
        return f"127.0.0.1:{self.port}"


def named(name):
    """A handler answering with the backend's name: who served the request."""
    return fb.respond(200, name.encode())


class LoadLoop:
    """Bounded steady load: `clients` threads, each sending requests on
    fresh connections (so each one picks its upstream anew) until stopped or
    `max_seconds`. Records (time, status, body) of every request."""

    def __init__(self, port, clients=2, max_seconds=15.0):
        self.port = port
        self.results = []
        self.errors = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.deadline = time.monotonic() + max_seconds
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self):
        while not self.stop_event.is_set() and time.monotonic() < self.deadline:
            try:
                r = get(self.port, "/", [("Connection", "close")])
                item = (time.monotonic(), r.status, r.body.decode(errors="replace"))
            except OSError as e:
                item = (time.monotonic(), 0, repr(e))
            with self.lock:
                self.results.append(item)
            time.sleep(0.005)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for t in self.threads:
            t.join(10)

    def served_since(self, t0):
        with self.lock:
            return [body for at, status, body in self.results if at >= t0 and status == 200]

    def failures(self):
        with self.lock:
            return [r for r in self.results if r[1] != 200]


class DnsCase(LbdTestCase):
    def dns(self, hosts="", conf=""):
        d = Dnsmasq(self.tmp.name, hosts, conf).start()
        self.addCleanup(d.stop)
        return d

    def backend_at(self, ip, port, name, handler=None):
        """A backend on ip:port (any 127/8 address), answering its name."""
        b = fb.FakeBackend(name, handler or named(name))
        b.listener.close()
        b.listener = socket.create_server((ip, port))
        b.listener.settimeout(0.2)
        b.port, b.address = port, f"{ip}:{port}"
        b.start()
        self.addCleanup(b.stop)
        return b

    def three_backends(self, handlers=None):
        """127.0.0.1, .2 and .3 on one port, named ip1, ip2, ip3."""
        port = free_port()
        handlers = handlers or {}
        return port, [self.backend_at(f"127.0.0.{i}", port, f"ip{i}", handlers.get(i)) for i in (1, 2, 3)]

    def with_resolver(self, cfg, dns, timeout="500ms"):
        cfg["resolver"] = {"nameservers": [dns.nameserver], "timeout": timeout}
        return cfg

    def discovery_pool(self, port, dns, **overrides):
        p = pool("app", [], discovery={"name": "svc.lbd.test", "type": "A", "port": port, "interval": "1s"},
                 **overrides)
        del p["backends"]
        return self.with_resolver(config([p]), dns)

    def test_a_host_name_that_moves_takes_new_connections_without_a_failed_request(self):
        port, _ = self.three_backends()
        dns = self.dns(hosts="127.0.0.1 app.lbd.test\n")
        # resolve_interval is long: the 1 s TTL is what brings the lookups forward.
        cfg = self.with_resolver(config([pool("app", [f"app.lbd.test:{port}"], resolve_interval="30s")]), dns)
        lbd = self.start_lbd(cfg)
        self.assertEqual(get(lbd.port).body, b"ip1")
        with LoadLoop(lbd.port) as load:
            time.sleep(0.5)
            dns.set_hosts("127.0.0.2 app.lbd.test\n")
            moved = time.monotonic()
            self.assertTrue(wait_until(lambda: "ip2" in load.served_since(moved), 5),
                            f"traffic never reached the new address:\n{lbd.stderr()}")
            switched = time.monotonic()
            time.sleep(0.6)
        self.assertEqual(load.failures(), [])
        late = load.served_since(switched + 0.1)
        self.assertTrue(late)
        self.assertEqual(set(late), {"ip2"}, "new connections still went to the old address")
        self.assertIn("now resolves to 127.0.0.2", lbd.stderr())
        m = scrape(lbd.admin_port)
        self.assertGreaterEqual(m.value("lbd_dns_resolutions_total", pool="app", result="success"), 2)

    def test_discovered_members_follow_dns_under_load(self):
        port, _ = self.three_backends()
        dns = self.dns(hosts="127.0.0.1 svc.lbd.test\n127.0.0.2 svc.lbd.test\n")
        lbd = self.start_lbd(self.discovery_pool(port, dns))
        before = {get(lbd.port).body.decode() for _ in range(6)}
        self.assertEqual(before, {"ip1", "ip2"})
        kept_id = f"127.0.0.2:{port}"
        served_before = scrape(lbd.admin_port).sum("lbd_backend_requests_total", pool="app", backend=kept_id)
        self.assertGreater(served_before, 0)
        with LoadLoop(lbd.port) as load:
            time.sleep(0.5)
            dns.set_hosts("127.0.0.2 svc.lbd.test\n127.0.0.3 svc.lbd.test\n")
            changed = time.monotonic()
            self.assertTrue(wait_until(lambda: "ip3" in load.served_since(changed), 6),
                            f"the new member got no traffic:\n{lbd.stderr()}")
            settled = time.monotonic()
            time.sleep(0.6)
        self.assertEqual(load.failures(), [])
        self.assertEqual(set(load.served_since(settled + 0.1)), {"ip2", "ip3"})
        self.assertRegex(lbd.stderr(), rf"added 127\.0\.0\.3:{port}.*removed .*127\.0\.0\.1:{port}")
        m = scrape(lbd.admin_port)
        # The member that stayed is the same backend: its counters went on.
        self.assertGreater(m.sum("lbd_backend_requests_total", pool="app", backend=kept_id), served_before)
        self.assertEqual({ls.get("backend") for ls, _ in m.series("lbd_backend_up")},
                         {f"127.0.0.2:{port}", f"127.0.0.3:{port}"})

    def test_new_members_wait_for_checks_and_members_that_go_finish_in_flight(self):
        healthz = lambda req: req.target == "/healthz"
        slow = lambda req: req.target == "/slow"
        port, _ = self.three_backends({
            1: fb.when(slow, fb.delayed(3.0, named("ip1")), named("ip1")),
        })
        dns = self.dns(hosts="127.0.0.1 svc.lbd.test\n127.0.0.2 svc.lbd.test\n")
        cfg = self.discovery_pool(port, dns, timeouts={"connect": "1s", "response": "10s"}, health_check={
            "path": "/healthz", "interval": "500ms", "timeout": "200ms", "rise": 3, "fall": 1})
        lbd = self.start_lbd(cfg)
        self.assertEqual({get(lbd.port).body.decode() for _ in range(6)}, {"ip1", "ip2"})
        # Two slow requests: round robin puts one on ip1, which then leaves.
        results = []

        def slow_request():
            results.append(get(lbd.port, "/slow"))
        threads = [threading.Thread(target=slow_request) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        dns.set_hosts("127.0.0.2 svc.lbd.test\n127.0.0.3 svc.lbd.test\n")
        self.assertTrue(wait_until(lambda: f"removed (in-flight requests finish) 127.0.0.1:{port}" in lbd.stderr(),
                                   2.5), lbd.stderr())
        self.assertTrue(any(t.is_alive() for t in threads), "the request on ip1 was not in flight any more")
        # ip3 joined with it: no request until 3 checks passed (>= 1 s from now).
        served = [get(lbd.port).body.decode() for _ in range(8)]
        self.assertEqual(set(served), {"ip2"}, served)
        for t in threads:
            t.join(10)
        self.assertEqual(sorted((r.status, r.body) for r in results), [(200, b"ip1"), (200, b"ip2")])
        self.assertTrue(wait_until(lambda: get(lbd.port).body == b"ip3", 5), "ip3 never took traffic after its checks")

    def test_an_answer_with_too_many_records_gives_at_most_512_members(self):
        hosts = "".join(f"10.9.{i // 256}.{i % 256} svc.lbd.test\n" for i in range(600))
        dns = self.dns(hosts=hosts)  # 600 A records: past UDP's size, answered over TCP
        lbd = self.start_lbd(self.discovery_pool(8080, dns))
        ids = [ls.get("backend") for ls, _ in scrape(lbd.admin_port).series("lbd_backend_up")]
        self.assertEqual(len(ids), 512)
        self.assertEqual(ids, sorted(ids))  # the first 512 by name, whatever order the server sent
        self.assertIn("found 88 members more than the 512 a pool may have", lbd.stderr())

    def test_a_failed_lookup_keeps_the_members_and_is_logged_once(self):
        port, _ = self.three_backends()
        dns = self.dns(hosts="127.0.0.1 svc.lbd.test\n127.0.0.2 svc.lbd.test\n")
        cfg = self.discovery_pool(port, dns)
        cfg["resolver"]["timeout"] = "200ms"
        lbd = self.start_lbd(cfg)
        dns.stop()
        self.assertTrue(wait_until(
            lambda: scrape(lbd.admin_port).value("lbd_dns_resolutions_total", pool="app", result="failure") >= 2, 10),
            lbd.stderr())
        served = {get(lbd.port).body.decode() for _ in range(8)}
        self.assertEqual(served, {"ip1", "ip2"})
        self.assertEqual(lbd.stderr().count("DNS discovery of svc.lbd.test (A) failed"), 1, lbd.stderr())

    def test_srv_discovery_uses_target_ports_weights_and_the_lowest_priority(self):
        a, b, c = self.backend(named("a")), self.backend(named("b")), self.backend(named("c"))
        conf = "".join(f"srv-host=_http._tcp.svc.lbd.test,{t}.lbd.test,{be.port},{prio},{weight}\n"
                       for t, be, prio, weight in (("a", a, 0, 30), ("b", b, 0, 10), ("c", c, 1, 100)))
        dns = self.dns(hosts="127.0.0.1 a.lbd.test b.lbd.test c.lbd.test\n", conf=conf)
        p = pool("app", [], strategy="weighted_round_robin",
                 discovery={"name": "_http._tcp.svc.lbd.test", "type": "SRV", "interval": "5s"})
        del p["backends"]
        lbd = self.start_lbd(self.with_resolver(config([p]), dns))
        served = [get(lbd.port).body.decode() for _ in range(40)]
        self.assertEqual(served.count("c"), 0, "a record of a higher priority value took traffic")
        self.assertIn(served.count("a"), range(28, 33), served)
        self.assertEqual(served.count("a") + served.count("b"), 40)
        ids = {ls.get("backend") for ls, _ in scrape(lbd.admin_port).series("lbd_backend_up")}
        self.assertEqual(ids, {f"a.lbd.test:{a.port}", f"b.lbd.test:{b.port}"})

    def test_check_reports_names_that_do_not_resolve(self):
        dns = self.dns(hosts="127.0.0.1 app.lbd.test\n")
        cfg = config([pool("app", ["app.lbd.test:9001", "nowhere.lbd.test:9002"]),
                      dict(pool("disc", []), discovery={"name": "gone.lbd.test", "type": "A", "port": 80})])
        del cfg["pools"][1]["backends"]
        self.with_resolver(cfg, dns)
        cfg["listeners"][0]["listen"] = "127.0.0.1:8080"
        cfg["admin"]["listen"] = "127.0.0.1:9901"
        path = os.path.join(self.tmp.name, "check.yaml")
        text = to_yaml(cfg) + "\n"
        with open(path, "w") as f:
            f.write(text)
        proc = subprocess.run([LBD_BIN, "--check", "-c", path], capture_output=True, text=True, timeout=20)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(len(lines), 2, lines)
        line_of = lambda needle: text[: text.index(needle)].count("\n") + 1
        self.assertRegex(lines[0], rf"^{re.escape(path)}:{line_of('nowhere.lbd.test')}:\d+: "
                                   r"pools\[0\]\.backends\[1\]\.address: host name 'nowhere\.lbd\.test' does not resolve")
        self.assertRegex(lines[1], rf"^{re.escape(path)}:{line_of('gone.lbd.test')}:\d+: "
                                   r"pools\[1\]\.discovery\.name: 'gone\.lbd\.test' does not resolve")
        # Once the names exist the same file is fine.
        dns.set_hosts("127.0.0.1 app.lbd.test nowhere.lbd.test gone.lbd.test\n")
        time.sleep(0.3)
        proc = subprocess.run([LBD_BIN, "--check", "-c", path], capture_output=True, text=True, timeout=20)
        self.assertEqual((proc.returncode, proc.stdout.strip()), (0, f"{path}: ok"), proc.stdout + proc.stderr)

    def test_the_example_config_passes_check_where_its_names_exist(self):
        conf = "srv-host=_api._tcp.service.consul,api1.node.consul,9101,0,10\n"
        dns = self.dns(hosts="127.0.0.1 app1.node.consul app2.node.consul api1.node.consul\n", conf=conf)
        with open(os.path.join(SOURCE_DIR, "conf", "discovery.yaml")) as f:
            text = f.read()
        self.assertIn("127.0.0.1:8600", text)
        path = os.path.join(self.tmp.name, "discovery.yaml")
        with open(path, "w") as f:
            f.write(text.replace("127.0.0.1:8600", dns.nameserver))
        proc = subprocess.run([LBD_BIN, "--check", "-c", path], capture_output=True, text=True, timeout=20)
        self.assertEqual((proc.returncode, proc.stdout.strip()), (0, f"{path}: ok"), proc.stdout + proc.stderr)
        # and without the records, every name is reported
        dns.set_hosts("")
        time.sleep(0.3)
        proc = subprocess.run([LBD_BIN, "--check", "-c", path], capture_output=True, text=True, timeout=20)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(len(proc.stdout.splitlines()), 2, proc.stdout)  # app1, app2 (the SRV record still exists)


if __name__ == "__main__":
    unittest.main()
