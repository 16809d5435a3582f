#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ from the project's
own vectors: the raw bytes the varnishtest scripts send (tests/vtc/*.vtc),
the HTTP byte strings of the integration tests (tests/integration/*.py), the
example configs (conf/*.yaml, tests/unit/data/config/*.yaml), and a few
hand-made messages for what those do not show (upgrades with pipelined
bytes, trailers, Expect, the fake backend's paths). Run it again after
adding vectors; file names are content hashes, so it only adds files.
"""
import ast
import base64
import hashlib
import hmac
import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fuzz/corpus"
METHODS = (b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE")


def vtc_unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out += {"r": b"\r", "n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\", "0": b"\0"}.get(n, n.encode())
            i += 2
        else:
            out += c.encode()
            i += 1
    return bytes(out)


def vtc_vectors():
    """(role, bytes): consecutive `send` lines of one client or server block."""
    for path in sorted((ROOT / "tests/vtc").glob("*.vtc")):
        role, parts = None, []
        for line in path.read_text().splitlines():
            stripped = line.strip()
            m = re.match(r"(client|server)\s+\S+.*\{", stripped)
            if m:
                role = m.group(1)
            send = re.match(r'send\s+"(.*)"\s*$', stripped)
            if send:
                parts.append(vtc_unescape(send.group(1)))
                continue
            if parts:
                yield role, b"".join(parts)
                parts = []
        if parts:
            yield role, b"".join(parts)


def integration_vectors():
    for path in sorted((ROOT / "tests/integration").glob("*.py")):
        for m in re.finditer(rb'b"((?:[A-Z]+ /|HTTP/1\.)(?:[^"\\]|\\.)*)"', path.read_bytes()):
            try:
                yield ast.literal_eval('b"' + m.group(1).decode() + '"')
            except (SyntaxError, ValueError):
                pass


HAND_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /chunked HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /close HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /100 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /bad/status HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /bad/crlf HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /bad/interim HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /v1/../admin HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: down.example\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: sticky.example\r\nCookie: LB=Ae7fQMyBv1HqAAAAAGsNUsiTzpKEtkemqZw0F_A43fBHMwaK1inb9nVhi9i171NzqA\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /chunked HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 99999\r\n\r\nabc",
    b"HEAD /big HTTP/1.1\r\nHost: a\r\nContent-Length: 99999\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: foo\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
    b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, x-a, x-b\r\nX-A: 1\r\nX-B: 2\r\nTE: trailers\r\n\r\n",
    b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nX-Request-Id: abc\r\n\r\n",
]

# What reaches the request path of a clear-text listener that has HTTP/2 on:
# h2c by prior knowledge (the preface, an empty SETTINGS, a HEADERS frame
# for GET / with :authority "a" in HPACK), and HTTP/1.1 that starts like
# the preface and must stay HTTP/1.1.
H2C_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2C_REQUESTS = [
    H2C_PREFACE + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
    + bytes([0, 0, 6, 1, 5, 0, 0, 0, 1, 0x82, 0x84, 0x86, 0x41, 0x01]) + b"a",
    b"PRI * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"PRI POST-bTr\xc9\x00ailer: XT\n\r-\r\nHolo",
]

HAND_RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nclose-delimited",
    b"HTTP/1.0 200 OK\r\n\r\nold style",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
    b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 20 OK\r\nContent-Length: 1\r\n\r\nx",
]

CHUNKED_BODIES = [
    b"5\r\nhello\r\n0\r\n\r\n",
    b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    b"1\r\na\r\n0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n",
    b"A\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"ffffffffffffffff\r\n",
    b"3\r\nabc\r\n",
    b"0\r\n\r\n",
]

STICKY_KEY = b"k" * 32


def sticky_cookie(backend_id, expires):
    body = struct.pack(">BQq", 1, backend_id, expires)
    mac = hmac.new(STICKY_KEY, body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=")


def sticky_values():
    # Backend ids are XXH64 of "app\0appN"; any id exercises decode.
    now = 1_800_000_000
    return [
        sticky_cookie(0x1234, now + 600),
        sticky_cookie(0xFFFFFFFFFFFFFFFF, now - 1),
        b"LB=" + sticky_cookie(7, now + 1) + b"; other=1",
        b'a=b; LB="' + sticky_cookie(9, now + 60) + b'"; c=d',
        b"LB=; LB=garbage; LB=" + b"A" * 66,
    ]


def write(target, blobs):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    for b in blobs:
        if b:
            (d / hashlib.sha1(b).hexdigest()[:16]).write_bytes(b)


def main():
    requests, responses = list(HAND_REQUESTS), list(HAND_RESPONSES)
    for role, b in vtc_vectors():
        (responses if role == "server" or b.startswith(b"HTTP/") else requests).append(b)
    for b in integration_vectors():
        (responses if b.startswith(b"HTTP/") else requests).append(b)
    chunked = list(CHUNKED_BODIES)
    for b in requests + responses:
        head, sep, body = b.partition(b"\r\n\r\n")
        if sep and b"chunked" in head.lower() and body:
            chunked.append(body)
    write("request_parser", requests)
    write("request_path", [r for r in requests if r.split(b" ", 1)[0] in METHODS or r.startswith(b"\r\n")]
          + H2C_REQUESTS)
    write("response_parser", responses)
    write("chunked", chunked)
    configs = sorted(ROOT.glob("conf/*.yaml")) + sorted(ROOT.glob("tests/unit/data/config/*.yaml"))
    write("config_loader", [p.read_bytes() for p in configs])
    write("sticky_cookie", sticky_values())


if __name__ == "__main__":
    main()
