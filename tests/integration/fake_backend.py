"""Scriptable HTTP/1.1 backends: a listening socket on 127.0.0.1 served by
Python threads, so a test decides byte by byte what lbd gets back and can
count what lbd sent (connections, request heads, complete requests)."""
import hashlib
import json
import socket
import struct
import threading
import time

from httpwire import (HEAD_END, ConnectionClosed, Request, SocketReader,
                      read_body)

BODY_ECHO_LIMIT = 64 * 1024  # echo bodies up to this size verbatim
HANDLER_TIMEOUT = 30.0       # bounds every blocking socket call of a backend
MAX_STREAM_SECONDS = 60.0    # bounds endless bodies and never-answering


class Exchange:
    """What a handler gets to answer one request with."""

    def __init__(self, backend, sock):
        self.backend = backend
        self.sock = sock

    def send(self, data):
        self.sock.sendall(data)

    def respond(self, status=200, body=b"", headers=(), framing="length",
                reason="X"):
        """framing: "length" (Content-Length), "chunked" (one chunk per
        element when body is a list) or "close" (close-delimited). Returns
        whether the connection may stay open."""
        pieces = body if isinstance(body, list) else [body]
        head = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
        head.append(f"X-Backend: {self.backend.name}")
        if framing == "length":
            head.append(f"Content-Length: {sum(map(len, pieces))}")
            payload = b"".join(pieces)
        elif framing == "chunked":
            head.append("Transfer-Encoding: chunked")
            payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p)
            payload += b"0\r\n\r\n"
        else:
            head.append("Connection: close")
            payload = b"".join(pieces)
        self.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
        says_close = any(k.lower() == "connection" and v.lower() == "close" for k, v in headers)
        return framing != "close" and not says_close

    def reset(self):
        """Close with RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


# ---- handlers: handler(exchange, request) -> keep the connection open? ----

def echo(ex, req):
    """200 with a JSON description of the request as the backend got it."""
    doc = {
        "backend": ex.backend.name,
        "method": req.method,
        "target": req.target,
        "version": req.version,
        "headers": req.headers,
        "body_length": len(req.body),
        "body_sha256": hashlib.sha256(req.body).hexdigest(),
    }
    if len(req.body) <= BODY_ECHO_LIMIT:
        doc["body"] = req.body.decode("latin-1")
    ex.respond(200, json.dumps(doc).encode(), [("Content-Type", "application/json")])
    return not req.wants_close()


def respond(status=200, body=b"", headers=(), framing="length"):
    def handler(ex, req):
        return ex.respond(status, body, headers, framing) and not req.wants_close()
    return handler


def delayed(seconds, then=echo):
    def handler(ex, req):
        time.sleep(seconds)
        return then(ex, req)
    return handler


def raw(data, keep_alive=True):
    """Send these exact bytes as the response."""
    def handler(ex, req):
        ex.send(data)
        return keep_alive
    return handler


def when(predicate, handler, otherwise=echo):
    """handler for requests matching predicate(req), otherwise the other."""
    return lambda ex, req: (handler if predicate(req) else otherwise)(ex, req)


def reset_after_request(ex, req):
    ex.reset()
    return False


def never_answer(ex, req):
    ex.backend.stopping.wait(MAX_STREAM_SECONDS)
    return False


def invalid_response(ex, req):
    ex.send(b"THIS IS NOT HTTP\r\n\r\n")
    return False


def events(count, interval):
    """Server-sent events, one chunk each, `interval` seconds apart; the send
    time of each is appended to backend.sent_at (time.monotonic)."""
    def handler(ex, req):
        ex.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(count):
            if i:
                time.sleep(interval)
            event = b"id: %d\ndata: event %d\n\n" % (i, i)
            ex.backend.sent_at.append(time.monotonic())
            ex.send(b"%x\r\n%s\r\n" % (len(event), event))
        ex.send(b"0\r\n\r\n")
        return True
    return handler


def endless_body(ex, req):
    """A close-delimited body that never ends: as fast as the peer takes it,
    until the peer goes away or MAX_STREAM_SECONDS pass. Bytes sent are
    counted in backend.bytes_sent."""
    ex.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Connection: close\r\n\r\n")
    block = b"x" * 65536
    deadline = time.monotonic() + MAX_STREAM_SECONDS
    while time.monotonic() < deadline and not ex.backend.stopping.is_set():
        ex.send(block)
        ex.backend.bytes_sent += len(block)
    return False


class FakeBackend:
    """A backend on 127.0.0.1:<free port>. idle_close: close a keep-alive
    connection that stays idle this many seconds (as servers do).
    body_delay: wait this long after a request head before reading the body
    (a busy application: the sender must be held back meanwhile)."""

    def __init__(self, name, handler=echo, idle_close=None, send_continue=True,
                 body_delay=0.0):
        self.name = name
        self.handler = handler
        self.idle_close = idle_close
        self.send_continue = send_continue
        self.body_delay = body_delay
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.connections = 0      # accepted
        self.peer_closes = 0      # connections the peer (lbd) closed
        self.heads = 0            # request heads received
        self.requests = []        # complete requests received
        self.body_arrivals = []   # (time.monotonic, bytes) per body read
        self.sent_at = []         # for handlers that record send times
        self.bytes_sent = 0
        self._open = set()
        self._threads = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"

    def start(self):
        self._spawn(self._accept_loop)
        return self

    def stop(self):
        self.stopping.set()
        with self.lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in self._threads:
            t.join(5)
        self.listener.close()

    @property
    def request_count(self):
        with self.lock:
            return len(self.requests)

    def _spawn(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self._open.add(sock)
            self._spawn(self._serve, sock)

    def _serve(self, sock):
        reader = SocketReader(sock)
        try:
            while not self.stopping.is_set() and self._serve_one(sock, reader):
                pass
        except (ConnectionClosed, OSError, ValueError):
            pass
        finally:
            with self.lock:
                self._open.discard(sock)
            sock.close()

    def _serve_one(self, sock, reader):
        sock.settimeout(self.idle_close or HANDLER_TIMEOUT)
        try:
            req = Request(reader.read_until(HEAD_END))
        except socket.timeout:
            return False  # idle: close, like a server's keep-alive timeout
        except ConnectionClosed:
            with self.lock:
                self.peer_closes += 1
            return False
        sock.settimeout(HANDLER_TIMEOUT)
        with self.lock:
            self.heads += 1
        if self.send_continue and req.header("Expect", "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.stopping.wait(self.body_delay)
        req.body = read_body(reader, req, until_eof=False, on_data=self._body_arrived)
        with self.lock:
            self.requests.append(req)
        return self.handler(Exchange(self, sock), req)

    def _body_arrived(self, data):
        with self.lock:
            self.body_arrivals.append((time.monotonic(), len(data)))


_closed_port_holders = []


def closed_port():
    """A loopback port with nothing listening (connect gets ECONNREFUSED),
    and none to come: the port stays bound, not listening, by a socket
    without SO_REUSEADDR/SO_REUSEPORT for the rest of this process. Closing
    it at once let a test running beside this one (an lbd admin listener,
    say) take the port, and "refused" backends answered 404."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    _closed_port_holders.append(s)
    return s.getsockname()[1]
