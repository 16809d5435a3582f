#pragma once
// Where one direction of a WebSocket connection is between frames (RFC 6455
// §5.2), from the bytes as they are relayed: lbd may put a Close frame of its
// own into the stream (stop, a drained backend) only there — control frames
// may go between any two frames, even between fragments of one message
// (§5.4), never inside one.
//
// Only frame headers are read (2 to 14 bytes, held here); payloads are
// skipped by count, never buffered, so memory is constant whatever the
// lengths. RSV bits are passed over: an extension (permessage-deflate) may
// set them. A stream that breaks the framing — an unknown opcode, a control
// frame that is fragmented or longer than 125 bytes, a 64-bit length with
// its top bit set, a mask bit that does not match the direction — is marked
// broken and is never at a boundary again: nothing is ever inserted into
// it, and lbd cuts it as it would without this tracker.
#include <cstddef>
#include <cstdint>
#include <string>

namespace lb::http {

class WsFrames {
 public:
  // `from_client`: frames in this direction must be masked (client to
  // server); the other way they must not be.
  explicit WsFrames(bool from_client) : from_client_(from_client) {}

  // Feeds relayed bytes. With `stop_at_frame_end`, stops right after the
  // first frame that ends in them; returns how many bytes were consumed
  // (all of them otherwise, or when no frame ends in them).
  size_t feed(const char* data, size_t len, bool stop_at_frame_end = false);

  // True when the bytes so far end exactly between two frames (or none
  // came yet) and the framing is intact.
  bool at_boundary() const { return !broken_ && have_ == 0 && payload_left_ == 0; }
  bool broken() const { return broken_; }
  // A Close frame (opcode 8) has begun in this direction.
  bool saw_close() const { return saw_close_; }
  uint64_t frames() const { return frames_; }

 private:
  // The header is complete in hdr_: check it and start its payload.
  void start_payload();

  bool from_client_;
  bool broken_ = false;
  bool saw_close_ = false;
  uint8_t hdr_[14] = {};
  uint8_t have_ = 0;  // header bytes held
  uint8_t need_ = 2;  // header length, known once two bytes are in
  uint64_t payload_left_ = 0;
  uint64_t frames_ = 0;  // frames ended
};

// The WebSocket close status codes lbd sends (RFC 6455 §7.4.1, IANA).
inline constexpr uint16_t kWsGoingAway = 1001;     // lbd stops
inline constexpr uint16_t kWsServiceRestart = 1012;  // the backend was drained or removed

// A Close frame carrying `code` (no reason text). Towards a server it must be
// masked (§5.3): `mask` is the 4-byte masking key; pass nullptr towards a client.
std::string ws_close_frame(uint16_t code, const uint8_t* mask);

}  // namespace lb::http
