#pragma once
// The /ws endpoint's protocol (RFC 6455): the handshake's accept value and
// an echo of every data frame the client sends. Pure: bytes in, bytes out;
// the connection does the I/O.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "request.h"

namespace demo {

// Sec-WebSocket-Key of a valid WebSocket handshake to /ws, or "" if the
// request is something else.
std::string_view websocket_key(const Request& req);

// Sec-WebSocket-Accept for `key` (RFC 6455 §4.2.2).
std::string websocket_accept(std::string_view key);

class WebSocketEcho {
 public:
  // close_after: after echoing that many data frames, the server closes
  // (0: never) — lets tests see a backend-initiated close.
  explicit WebSocketEcho(uint64_t close_after) : close_after_(close_after) {}

  // Consumes client bytes; appends the echo (and pongs, and the close
  // handshake) to `out`. Returns false once the connection should close
  // after writing `out` (close frame exchanged, or a protocol error).
  bool feed(std::string_view in, std::string& out);

 private:
  bool take_frame(std::string& out);  // false: stop (closed or need more)

  static constexpr uint64_t kMaxPayload = 16u << 20;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t close_after_;
  uint64_t echoed_ = 0;
  bool open_ = true;
};

}  // namespace demo
