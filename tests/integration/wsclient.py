"""A small blocking WebSocket client (RFC 6455) for the tests and nothing
more: it masks what it sends, checks the handshake's accept value, and
reassembles nothing (each frame is read as it comes).

The socket comes from a factory so the same client runs over plain TCP or
TLS: `WebSocket.open(lambda: socket.create_connection(addr), "/ws")`, or a
factory that wraps the socket with an ssl.SSLContext."""
import base64
import hashlib
import os
import socket
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 1, 2, 8, 9, 10


def accept_value(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def handshake_request(path, host, key, extra_headers=()):
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: Upgrade", "Upgrade: websocket",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(opcode, payload, fin=True, mask=True):
    """One frame as a client sends it (masked)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n <= 0xFFFF:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class HandshakeRefused(Exception):
    def __init__(self, status, head, rest):
        super().__init__(f"handshake answered {status}")
        self.status, self.head, self.rest = status, head, rest


class WebSocket:
    def __init__(self, sock, response_head, buffered):
        self.sock = sock
        self.response_head = response_head  # {lower-case name: value}
        self._buf = bytearray(buffered)

    @classmethod
    def open(cls, socket_factory, path="/ws", host="lbd.test", extra_headers=(), timeout=5.0,
             send_with_handshake=b""):
        """Connects and upgrades; `send_with_handshake` goes out in the same
        write as the request (frames pipelined behind the head)."""
        sock = socket_factory()
        sock.settimeout(timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(handshake_request(path, host, key, extra_headers) + send_with_handshake)
        data = bytearray()
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                sock.close()
                raise ConnectionError(f"closed during the handshake after {bytes(data)!r}")
            data += chunk
        end = data.index(b"\r\n\r\n")
        lines = data[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        head = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            head[name.strip().lower()] = value.strip()
        rest = bytes(data[end + 4:])
        if status != 101:
            want = int(head.get("content-length", "0"))
            while len(rest) < want:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            sock.close()
            raise HandshakeRefused(status, head, rest)
        if head.get("sec-websocket-accept") != accept_value(key):
            sock.close()
            raise AssertionError(f"bad Sec-WebSocket-Accept in {head}")
        return cls(sock, head, rest)

    def send(self, payload, opcode=None):
        if opcode is None:
            opcode = TEXT if isinstance(payload, str) else BINARY
        if isinstance(payload, str):
            payload = payload.encode()
        self.sock.sendall(frame(opcode, payload))

    def _need(self, n):
        while len(self._buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                raise EOFError("connection closed")
            self._buf += chunk

    def recv_frame(self):
        """(opcode, payload) of the next frame from the server."""
        self._need(2)
        b0, b1 = self._buf[0], self._buf[1]
        if b1 & 0x80:
            raise AssertionError("the server masked a frame")
        n, at = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, at = struct.unpack("!H", self._buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, at = struct.unpack("!Q", self._buf[2:10])[0], 10
        self._need(at + n)
        payload = bytes(self._buf[at:at + n])
        del self._buf[:at + n]
        return b0 & 0x0F, payload

    def recv(self):
        """The payload of the next data frame (text decoded)."""
        opcode, payload = self.recv_frame()
        if opcode == TEXT:
            return payload.decode()
        if opcode == BINARY:
            return payload
        raise AssertionError(f"expected a data frame, got opcode {opcode} {payload!r}")

    def close(self, code=1000):
        """Sends a close frame; returns the server's close code."""
        self.sock.sendall(frame(CLOSE, struct.pack("!H", code)))
        opcode, payload = self.recv_frame()
        if opcode != CLOSE:
            raise AssertionError(f"expected the close frame back, got opcode {opcode}")
        return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None

    def wait_eof(self, timeout):
        """True if the server closed the TCP connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if self._buf:
                    self._buf.clear()
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def abandon(self):
        self.sock.close()


def tcp_factory(port, host="127.0.0.1"):
    return lambda: socket.create_connection((host, port), timeout=5)
