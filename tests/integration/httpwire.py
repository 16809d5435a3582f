"""HTTP/1.1 on raw sockets, with just enough framing to see exactly what
crosses the wire. http.client merges headers, hides framing and refuses
malformed input; these tests need to send and observe all of that."""
import socket
import time

CRLF = b"\r\n"
HEAD_END = b"\r\n\r\n"
DEFAULT_TIMEOUT = 10.0
MAX_HEAD = 1 << 20


class ConnectionClosed(Exception):
    """The peer closed the connection before a complete message arrived."""


class SocketReader:
    """Buffered reads from a socket; what is read past a message stays
    buffered for the next one (pipelining)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionClosed(f"peer closed; {len(self.buf)} bytes unparsed")
        self.buf += data

    def read_until(self, delim, limit=MAX_HEAD):
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                return self._take(i + len(delim))
            if len(self.buf) > limit:
                raise ValueError(f"no {delim!r} within {limit} bytes")
            self._fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        return self._take(n)

    def read_some(self, max_bytes=65536):
        """What is buffered, else one recv; b"" at end of stream."""
        if not self.buf:
            data = self.sock.recv(max_bytes)
            return data
        return self._take(min(max_bytes, len(self.buf)))

    def read_to_eof(self):
        out = bytearray(self._take(len(self.buf)))
        while True:
            data = self.sock.recv(65536)
            if not data:
                return bytes(out)
            out += data

    def _take(self, n):
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


class Message:
    """A parsed request or response head plus its (de-framed) body."""

    def __init__(self, raw_head):
        self.raw_head = raw_head
        lines = raw_head[: -len(HEAD_END)].decode("latin-1").split("\r\n")
        self.start_line = lines[0]
        self.headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"header line without colon: {line!r}")
            self.headers.append((name, value.strip(" \t")))
        self.body = b""
        self.trailers = []  # (name, value) of a chunked body's trailer section

    def header_values(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header(self, name, default=None):
        values = self.header_values(name)
        return values[0] if values else default

    def has_token(self, name, token):
        """Whether a comma-separated header (Connection, TE...) lists token."""
        return any(t.strip().lower() == token.lower()
                   for v in self.header_values(name) for t in v.split(","))

    def is_chunked(self):
        te = [t.strip().lower() for v in self.header_values("Transfer-Encoding")
              for t in v.split(",")]
        return bool(te) and te[-1] == "chunked"


class Request(Message):
    def __init__(self, raw_head):
        super().__init__(raw_head)
        self.method, self.target, self.version = self.start_line.split(" ", 2)

    def wants_close(self):
        if self.version == "HTTP/1.0":
            return not self.has_token("Connection", "keep-alive")
        return self.has_token("Connection", "close")


class Response(Message):
    def __init__(self, raw_head):
        super().__init__(raw_head)
        parts = self.start_line.split(" ", 2)
        self.version, self.status = parts[0], int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""

    def __repr__(self):
        return f"<Response {self.status} {self.headers} body={self.body[:200]!r}>"


def response_has_body(method, status):
    return not (method == "HEAD" or 100 <= status < 200 or status in (204, 304))


def read_chunked(reader, on_data):
    """Returns the trailer fields as (name, value) pairs."""
    while True:
        size_line = reader.read_until(CRLF)
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            trailers = []
            while (line := reader.read_until(CRLF)) != CRLF:
                name, _, value = line[:-2].decode("latin-1").partition(":")
                trailers.append((name, value.strip(" \t")))
            return trailers
        on_data(reader.read_exact(size))
        if reader.read_exact(2) != CRLF:
            raise ValueError("chunk not followed by CRLF")


def read_length(reader, length, on_data):
    remaining = length
    while remaining > 0:
        data = reader.read_some(min(remaining, 1 << 20))
        if not data:
            raise ConnectionClosed(f"{remaining} of {length} body bytes missing")
        remaining -= len(data)
        on_data(data)


def read_body(reader, msg, *, until_eof, on_data=None):
    """De-frames msg's body per RFC 9112 §6.3. until_eof: the message is a
    response that may be close-delimited. on_data sees each piece as it
    arrives (for timing); the whole body is returned as well."""
    parts = []

    def sink(data):
        parts.append(data)
        if on_data:
            on_data(data)

    if msg.is_chunked():
        msg.trailers = read_chunked(reader, sink)
    elif msg.header("Content-Length") is not None:
        read_length(reader, int(msg.header("Content-Length")), sink)
    elif until_eof:
        data = reader.read_to_eof()
        if data:
            sink(data)
    return b"".join(parts)


def chunked(*pieces):
    """Encode pieces as chunks followed by the last-chunk."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p)
    return out + b"0\r\n\r\n"


def build_request(method="GET", target="/", headers=(), body=b"",
                  version="HTTP/1.1", host="test.local"):
    """A well-formed request; Host and Content-Length added unless given."""
    headers = list(headers)
    names = {k.lower() for k, _ in headers}
    if host is not None and "host" not in names:
        headers.insert(0, ("Host", host))
    if body and not names & {"content-length", "transfer-encoding"}:
        headers.append(("Content-Length", str(len(body))))
    head = f"{method} {target} {version}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + body


class HttpClient:
    """One client connection to 127.0.0.1:port; `source` is the client's
    own address (any of 127.0.0.0/8), to look like another client."""

    def __init__(self, port, timeout=DEFAULT_TIMEOUT, rcvbuf=None, source=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        try:
            if source:
                self.sock.bind((source, 0))
            self.sock.connect(("127.0.0.1", port))
        except OSError:
            self.sock.close()
            raise
        self.reader = SocketReader(self.sock)

    def send(self, data):
        self.sock.sendall(data.encode("latin-1") if isinstance(data, str) else data)

    def read_response(self, method="GET", interim=False, on_data=None):
        """The next response; 1xx responses are skipped unless interim."""
        while True:
            resp = Response(self.reader.read_until(HEAD_END))
            if 100 <= resp.status < 200 and not interim:
                continue
            if response_has_body(method, resp.status):
                resp.body = read_body(self.reader, resp, until_eof=True, on_data=on_data)
            return resp

    def request(self, method="GET", target="/", headers=(), body=b"", **kw):
        self.send(build_request(method, target, headers, body, **kw))
        return self.read_response(method)

    def closed_within(self, timeout):
        """True if the peer closes (FIN or RST) within timeout without
        sending anything more; False if it stays open or sends data."""
        if self.reader.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def read_with_arrivals(client, pieces_in, method="GET"):
    """The next response on `client`, and when (time.monotonic) each piece of
    its body was complete, as counted by pieces_in(body bytes so far): to
    tell a streamed body from one held back and sent at once."""
    stream, arrived = bytearray(), []

    def on_data(data):
        stream.extend(data)
        while len(arrived) < pieces_in(stream):
            arrived.append(time.monotonic())

    return client.read_response(method, on_data=on_data), arrived


def sse_events(stream):
    """How many server-sent events `stream` holds (each ends in a blank line)."""
    return stream.count(b"\n\n")


def get(port, target="/", headers=(), **kw):
    """One request on a fresh connection."""
    client = HttpClient(port)
    try:
        return client.request("GET", target, headers, **kw)
    finally:
        client.close()


def wait_until(predicate, timeout, interval=0.05):
    """Poll predicate until true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
