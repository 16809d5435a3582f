"""Helpers for the session tests: lbd's sticky cookie rebuilt independently
in Python (XXH64 backend id, HMAC-SHA256, base64url) so tests can craft
expired, forged and unknown-backend cookies and read the ones lbd sets; a
cookie jar; and real processes: the demo app server (tools/demo_backend)
and a redis-server on a loopback port."""
import base64
import hashlib
import hmac
import os
import shutil
import socket
import struct
import subprocess
import time

from lbd_harness import free_port


# ---- XXH64 (seed 0), the backend id's hash ----

_P1, _P2, _P3, _P4, _P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161,
                           9650029242287828579, 2870177450012600261)
_M = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc, lane):
    return (_rotl((acc + lane * _P2) & _M, 31) * _P1) & _M


def _merge(acc, v):
    return ((acc ^ _round(0, v)) * _P1 + _P4) & _M


def xxh64(data, seed=0):
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M, (seed + _P2) & _M, seed, (seed - _P1) & _M]
        while i + 32 <= n:
            for j in range(4):
                v[j] = _round(v[j], int.from_bytes(data[i + 8 * j:i + 8 * j + 8], "little"))
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M
        for lane in v:
            h = _merge(h, lane)
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while i + 8 <= n:
        h = (_rotl(h ^ _round(0, int.from_bytes(data[i:i + 8], "little")), 27) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        h = (_rotl(h ^ ((int.from_bytes(data[i:i + 4], "little") * _P1) & _M), 23) * _P2 + _P3) & _M
        i += 4
    while i < n:
        h = (_rotl(h ^ ((data[i] * _P5) & _M), 11) * _P1) & _M
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M
    h ^= h >> 29
    h = (h * _P3) & _M
    return h ^ (h >> 32)


assert xxh64(b"app\0app1") == 0x0A5FB67F2DCE8E79  # the value the unit tests pin


# ---- the sticky cookie ----

def backend_id(pool, backend):
    return xxh64(pool.encode() + b"\0" + backend.encode())


def make_cookie(key, pool, backend, expires):
    """A cookie value as lbd would set it, pinning `backend` until `expires`
    (Unix seconds)."""
    body = struct.pack(">BQQ", 1, backend_id(pool, backend), int(expires))
    mac = hmac.new(key, body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


def read_cookie(key, value):
    """(backend id, expiry) of a cookie value lbd set; AssertionError if its
    signature does not verify under `key`."""
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert len(raw) == 49 and raw[0] == 1, f"not an lbd sticky cookie: {value!r}"
    body, mac = raw[:17], raw[17:]
    assert hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()), "bad signature"
    _, ident, expires = struct.unpack(">BQQ", body)
    return ident, expires


def write_key(directory, name="sticky.key", key=None, mode=0o600):
    key = os.urandom(32) if key is None else key
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(key)
    os.chmod(path, mode)
    return path, key


def parse_set_cookie(value):
    """("NAME", "VALUE", {attribute-lower: value-or-True})"""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, sep, v = p.partition("=")
        attrs[k.lower()] = v if sep else True
    return name, val, attrs


class CookieJar:
    """Keeps what Set-Cookie says (name -> value) and sends it back, as a
    browser would for one site."""

    def __init__(self):
        self.cookies = {}

    def header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def headers(self, extra=()):
        h = list(extra)
        if self.cookies:
            h.append(("Cookie", self.header()))
        return h

    def update(self, response):
        """Stores the response's cookies; returns their Set-Cookie values."""
        set_cookies = response.header_values("Set-Cookie")
        for sc in set_cookies:
            name, value, attrs = parse_set_cookie(sc)
            if attrs.get("max-age") == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return set_cookies


# ---- processes ----

class RedisServer:
    """A throw-away redis-server on a free loopback port, nothing persisted."""

    def __init__(self, workdir):
        binary = shutil.which("redis-server")
        if not binary:
            raise AssertionError("redis-server is not installed: run tools/bootstrap")
        self.port = free_port()
        self.log_path = os.path.join(workdir, "redis.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir, "--daemonize", "no"],
            stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start: {open(self.log_path).read()}")
            time.sleep(0.05)

    def command(self, *args):
        """One command in RESP; the raw reply bytes."""
        payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in map(str, args))
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(payload.encode())
            return s.recv(65536)

    def ping(self):
        try:
            return self.command("PING") == b"+PONG\r\n"
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()
