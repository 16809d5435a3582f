"""HTTP/2 clients for the tests, on Debian's python3-h2 (h2, hpack,
hyperframe), over a plain socket (h2c by prior knowledge) or TLS with
ALPN h2.

  H2Client     a well-behaved client: h2's state machine keeps the
               windows, HPACK and SETTINGS right; requests, responses,
               server-sent events, with the arrival time of every DATA
               frame. Flow control can be taken in hand (auto_window=False:
               no WINDOW_UPDATE until the test says it read the bytes).
  RawH2        frame by frame, no state machine: for attacks (floods,
               CONTINUATION without end, rapid reset) it sends whatever
               frames the test builds and reads back the server's frames
               until a GOAWAY or the close.

Every read has a deadline; nothing here waits forever.
Debian installs python3-h2 for /usr/bin/python3; a pyenv or venv python
(what ctest may find first) does not search /usr/lib/python3/dist-packages,
so that directory is added when the import fails (the modules are pure
Python)."""
import socket
import ssl
import sys
import time

try:
    import h2  # noqa: F401
except ImportError:  # pragma: no cover - depends on the interpreter
    sys.path.append("/usr/lib/python3/dist-packages")

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame,
                              PingFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DEFAULT_TIMEOUT = 10.0

# RFC 9113 §7 error codes.
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
SETTINGS_TIMEOUT = 0x4
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xB

# SETTINGS identifiers.
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6
SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8


class Timeout(AssertionError):
    """What the test waited for did not happen in time."""


def connect(port, tls_context=None, server_name=None, timeout=DEFAULT_TIMEOUT, alpn=("h2",)):
    """A socket to 127.0.0.1:port; with tls_context, TLS offering `alpn`.
    The caller checks the protocol the server chose (selected_alpn)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls_context is not None:
        if alpn:
            tls_context.set_alpn_protocols(list(alpn))
        try:
            sock = tls_context.wrap_socket(sock, server_hostname=server_name)
        except BaseException:
            sock.close()
            raise
    return sock


def selected_alpn(sock):
    return sock.selected_alpn_protocol() if isinstance(sock, ssl.SSLSocket) else None


class Stream:
    """One request's response as it arrived."""

    def __init__(self, stream_id):
        self.id = stream_id
        self.informational = []   # 1xx heads
        self.headers = None       # [(name, value)] of the final response
        self.trailers = None
        self.chunks = []          # (time.monotonic(), bytes) per DATA frame
        self.ended = False
        self.reset_code = None    # RST_STREAM error code from the server
        self.ended_at = None

    @property
    def body(self):
        return b"".join(data for _, data in self.chunks)

    @property
    def status(self):
        return int(self.header(":status")) if self.headers else None

    def header(self, name, default=None):
        for k, v in self.headers or ():
            if k == name:
                return v
        return default

    def header_values(self, name):
        return [v for k, v in self.headers or () if k == name]

    @property
    def done(self):
        return self.ended or self.reset_code is not None

    def __repr__(self):
        return (f"<Stream {self.id} status={self.status} ended={self.ended} "
                f"reset={self.reset_code} body={self.body[:120]!r}>")


class _Connection(h2.connection.H2Connection):
    """h2's connection, except that a GOAWAY with NO_ERROR leaves it open
    for the streams the server announced it would still finish (RFC 9113
    §6.8 graceful shutdown): h2 4.1 closes its state machine on any GOAWAY
    and then rejects the DATA of streams still in flight."""

    def _receive_goaway_frame(self, frame):
        frames, events = super()._receive_goaway_frame(frame)
        if frame.error_code == NO_ERROR:
            self.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        return frames, events


class H2Client:
    """One HTTP/2 connection driven by h2's client state machine.

    settings: our SETTINGS ({SETTINGS_INITIAL_WINDOW_SIZE: 1024, ...}).
    auto_window: acknowledge DATA as it arrives (WINDOW_UPDATE); False
    leaves the windows shut until read_window(stream_id, n) is called.
    """

    def __init__(self, port, tls_context=None, server_name="www.example.com", settings=None,
                 auto_window=True, timeout=DEFAULT_TIMEOUT, sock=None):
        self.sock = sock or connect(port, tls_context, server_name, timeout)
        self.sock.settimeout(timeout)
        if tls_context is not None and selected_alpn(self.sock) != "h2":
            proto = selected_alpn(self.sock)
            self.sock.close()
            raise AssertionError(f"ALPN chose {proto!r}, not h2")
        self.timeout = timeout
        self.auto_window = auto_window
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = _Connection(config=config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(dict(settings))
        self.streams = {}
        self.goaway = None          # h2.events.ConnectionTerminated
        self.goaway_at = None
        self.remote_settings = {}   # what the server's SETTINGS said, by code
        self.eof = False
        self.unacked = {}           # stream_id -> bytes received, not yet acknowledged
        self.flush()

    # ---- output ----

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method="GET", path="/", headers=(), body=b"", authority="test.local",
                scheme=None, end_stream=True):
        """Sends a request; returns its stream id. A body is sent as far as
        the windows allow, then as they open (send_body)."""
        if scheme is None:
            scheme = "https" if isinstance(self.sock, ssl.SSLSocket) else "http"
        stream_id = self.conn.get_next_available_stream_id()
        fields = [(":method", method), (":scheme", scheme), (":path", path)]
        if authority is not None:
            fields.append((":authority", authority))
        fields += list(headers)
        self.streams[stream_id] = Stream(stream_id)
        self.conn.send_headers(stream_id, fields, end_stream=end_stream and not body)
        self.flush()
        if body:
            self.send_body(stream_id, body, end_stream=end_stream)
        return stream_id

    def send_body(self, stream_id, data, end_stream=True, timeout=None):
        """Sends `data` on the stream, waiting for WINDOW_UPDATEs as needed."""
        deadline = time.monotonic() + (timeout or self.timeout * 3)
        view = memoryview(data)
        while view:
            window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if window <= 0:
                if self.streams[stream_id].reset_code is not None or self.goaway:
                    raise AssertionError(f"stream {stream_id} ended while sending its body: {self.streams[stream_id]!r}"
                                         f" goaway={self.goaway}")
                self._read_once(deadline, "a WINDOW_UPDATE for the request body")
                continue
            self.conn.send_data(stream_id, bytes(view[:window]))
            view = view[window:]
            self.flush()
        if end_stream:
            self.conn.end_stream(stream_id)
            self.flush()

    def reset(self, stream_id, code=CANCEL):
        self.conn.reset_stream(stream_id, code)
        self.flush()

    def ping(self, data=b"lbdtest!"):
        self.conn.ping(data)
        self.flush()

    def read_window(self, stream_id, n=None):
        """The test read `n` bytes (default all so far) of the stream:
        open the stream's and the connection's windows by as much."""
        pending = self.unacked.get(stream_id, 0)
        n = pending if n is None else min(n, pending)
        if n:
            self.unacked[stream_id] = pending - n
            self.conn.acknowledge_received_data(n, stream_id)
            self.flush()

    def raw(self, data):
        """Bytes straight to the socket, past the state machine."""
        self.sock.sendall(data)

    # ---- input ----

    def _read_once(self, deadline, what):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout(f"no {what} within the time allowed")
        if self.eof:
            raise AssertionError(f"connection closed while waiting for {what}; goaway={self.goaway}")
        self.sock.settimeout(min(remaining, self.timeout))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            return
        self._feed(data)

    def _feed(self, data):
        now = time.monotonic()
        for event in self.conn.receive_data(data):
            self._on_event(event, now)
        self.flush()

    def _on_event(self, event, now):
        stream = self.streams.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.ResponseReceived):
            stream.headers = list(event.headers)
        elif isinstance(event, h2.events.InformationalResponseReceived):
            stream.informational.append(list(event.headers))
        elif isinstance(event, h2.events.TrailersReceived):
            stream.trailers = list(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            if stream is not None:
                stream.chunks.append((now, event.data))
            if self.auto_window:
                if event.flow_controlled_length:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            else:
                self.unacked[event.stream_id] = self.unacked.get(event.stream_id, 0) + event.flow_controlled_length
        elif isinstance(event, h2.events.StreamEnded):
            stream.ended, stream.ended_at = True, now
        elif isinstance(event, h2.events.StreamReset):
            if stream is not None:
                stream.reset_code = int(event.error_code)
                stream.ended_at = now
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway, self.goaway_at = event, now
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                self.remote_settings[int(code)] = change.new_value

    def wait(self, predicate, timeout=None, what="the expected frames"):
        """Reads until predicate() holds; Timeout if it does not in time."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not predicate():
            self._read_once(deadline, what)
        return True

    def settle(self, seconds):
        """Reads whatever arrives for `seconds` (no expectation)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.eof:
            try:
                self._read_once(deadline, "anything")
            except Timeout:
                break

    def response(self, stream_id, timeout=None):
        """The stream once it ended (or was reset)."""
        stream = self.streams[stream_id]
        self.wait(lambda: stream.done, timeout, f"end of stream {stream_id}")
        return stream

    def get(self, path="/", headers=(), authority="test.local", timeout=None):
        return self.response(self.request("GET", path, headers, authority=authority), timeout)

    def wait_settings(self, timeout=None):
        """The server's first SETTINGS (its values, by code)."""
        self.wait(lambda: self.remote_settings or self.conn.remote_settings.acknowledged, timeout,
                  "the server's SETTINGS")
        return self.remote_settings

    def wait_goaway(self, timeout=None):
        self.wait(lambda: self.goaway is not None or self.eof, timeout, "GOAWAY")
        return self.goaway

    def closed_within(self, timeout):
        """True once the server closed the connection (reading all frames
        that came before), False if it is still open after `timeout`."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if time.monotonic() >= deadline:
                return False
            try:
                self._read_once(deadline, "the close")
            except h2.exceptions.ProtocolError:
                # Frames after our own GOAWAY or theirs: the connection is over anyway.
                pass
            except Timeout:
                return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- raw frames ----

def frame_bytes(frame):
    return frame.serialize()


def settings_frame(settings=None, ack=False):
    f = SettingsFrame(0)
    if ack:
        f.flags.add("ACK")
    else:
        f.settings = dict(settings or {})
    return f.serialize()


def headers_frame(stream_id, block, end_stream=True, end_headers=True):
    f = HeadersFrame(stream_id)
    f.data = block
    if end_stream:
        f.flags.add("END_STREAM")
    if end_headers:
        f.flags.add("END_HEADERS")
    return f.serialize()


def continuation_frame(stream_id, block, end_headers=False):
    f = ContinuationFrame(stream_id)
    f.data = block
    if end_headers:
        f.flags.add("END_HEADERS")
    return f.serialize()


def data_frame(stream_id, data=b"", end_stream=False):
    f = DataFrame(stream_id)
    f.data = data
    if end_stream:
        f.flags.add("END_STREAM")
    return f.serialize()


def rst_stream_frame(stream_id, code=CANCEL):
    return RstStreamFrame(stream_id, error_code=code).serialize()


def ping_frame(data=b"\0" * 8, ack=False):
    f = PingFrame(0)
    f.opaque_data = data
    if ack:
        f.flags.add("ACK")
    return f.serialize()


def window_update_frame(stream_id, increment):
    return WindowUpdateFrame(stream_id, window_increment=increment).serialize()


def literal_field(name, value):
    """One HPACK literal header field, never indexed and without Huffman:
    the same bytes whatever the state of either side's dynamic table, so
    any number of them may follow each other in one header block."""
    return hpack.Encoder().encode([hpack.NeverIndexedHeaderTuple(name, value)], huffman=False)


class RawH2:
    """A connection spoken frame by frame. Sends the preface and our
    SETTINGS on start unless preface=False; never acknowledges anything
    unless told (ack_settings)."""

    def __init__(self, port, tls_context=None, server_name="www.example.com", settings=None,
                 preface=True, timeout=DEFAULT_TIMEOUT, sock=None):
        self.sock = sock or connect(port, tls_context, server_name, timeout)
        if tls_context is not None and selected_alpn(self.sock) != "h2":
            proto = selected_alpn(self.sock)
            self.sock.close()
            raise AssertionError(f"ALPN chose {proto!r}, not h2")
        self.timeout = timeout
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 24
        self.buf = bytearray()
        self.eof = False
        self.frames = []           # every frame read, in order
        self.goaway = None         # the GoAwayFrame
        self.goaway_at = None
        self.next_stream_id = 1
        if preface:
            self.send(PREFACE + settings_frame(settings))

    def send(self, data):
        """Sends bytes; returns False if the server already closed."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.eof = True
            return False
        except socket.timeout:
            return False

    def block(self, headers, huffman=True):
        """An HPACK block for `headers` (literal, never indexed: the
        server's dynamic table is left as it was)."""
        return self.encoder.encode([hpack.NeverIndexedHeaderTuple(k, v) for k, v in headers], huffman=huffman)

    def request_block(self, path="/", method="GET", authority="test.local", scheme="http", extra=()):
        return self.block([(":method", method), (":scheme", scheme), (":path", path),
                           (":authority", authority)] + list(extra))

    def new_stream_id(self):
        sid = self.next_stream_id
        self.next_stream_id += 2
        return sid

    def read_frame(self, deadline):
        """The next frame, or None at EOF or when the deadline passes."""
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + length:
                    head, body = bytes(self.buf[:9]), bytes(self.buf[9:9 + length])
                    del self.buf[:9 + length]
                    frame, _ = Frame.parse_frame_header(memoryview(head))
                    frame.parse_body(memoryview(body))
                    self._on_frame(frame)
                    return frame
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                self.eof = True
            self.buf += data

    def _on_frame(self, frame):
        self.frames.append(frame)
        if isinstance(frame, GoAwayFrame) and self.goaway is None:
            self.goaway, self.goaway_at = frame, time.monotonic()

    def read_until(self, predicate, timeout):
        """Reads frames until predicate(frame) is true (returns that frame)
        or EOF / timeout (returns None)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.read_frame(deadline)
            if frame is None or predicate(frame):
                return frame

    def wait_goaway(self, timeout):
        if self.goaway is None:
            self.read_until(lambda f: isinstance(f, GoAwayFrame), timeout)
        return self.goaway

    def server_settings(self, timeout=None):
        f = self.read_until(lambda f: isinstance(f, SettingsFrame) and "ACK" not in f.flags,
                            timeout or self.timeout)
        return dict(f.settings) if f is not None else None

    def drain(self, seconds):
        """Reads (and keeps) whatever comes within `seconds`."""
        deadline = time.monotonic() + seconds
        while self.read_frame(deadline) is not None:
            pass

    def closed_within(self, timeout):
        """True when the server closed the connection (frames before the
        close are read and kept) within `timeout`."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self.read_frame(deadline)
        return self.eof

    def rst_streams(self):
        return {f.stream_id: f.error_code for f in self.frames if isinstance(f, RstStreamFrame)}

    def response_headers(self, stream_id):
        """Decoded response HEADERS of `stream_id` (all header blocks seen
        are decoded in order, as HPACK requires)."""
        found = None
        pending = None
        for f in self.frames:
            if isinstance(f, HeadersFrame):
                pending = (f.stream_id, bytearray(f.data))
                if "END_HEADERS" in f.flags:
                    hdrs = self.decoder.decode(bytes(pending[1]), raw=False)
                    if pending[0] == stream_id and found is None:
                        found = hdrs
                    pending = None
            elif isinstance(f, ContinuationFrame) and pending is not None:
                pending[1].extend(f.data)
                if "END_HEADERS" in f.flags:
                    hdrs = self.decoder.decode(bytes(pending[1]), raw=False)
                    if pending[0] == stream_id and found is None:
                        found = hdrs
                    pending = None
        self.decoder = hpack.Decoder()  # decoded from the start again next time
        self.decoder.max_header_list_size = 1 << 24
        return found

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def goaway_text(frame):
    if frame is None:
        return "no GOAWAY"
    return f"GOAWAY(error={frame.error_code:#x}, last_stream={frame.last_stream_id}, debug={frame.additional_data!r})"
