#include "lb/http/ws_frames.h"

#include <algorithm>

namespace lb::http {

namespace {
constexpr uint8_t kFin = 0x80;
constexpr uint8_t kMasked = 0x80;

bool known_opcode(uint8_t op) { return op <= 2 || (op >= 8 && op <= 10); }
}  // namespace

size_t WsFrames::feed(const char* data, size_t len, bool stop_at_frame_end) {
  size_t i = 0;
  while (i < len && !broken_) {
    if (payload_left_ > 0) {
      const uint64_t take = std::min<uint64_t>(payload_left_, len - i);
      i += take;
      payload_left_ -= take;
      if (payload_left_ == 0) {
        ++frames_;
        if (stop_at_frame_end) return i;
      }
      continue;
    }
    hdr_[have_++] = static_cast<uint8_t>(data[i++]);
    if (have_ == 2) {
      const uint8_t op = hdr_[0] & 0x0f;
      const uint8_t len7 = hdr_[1] & 0x7f;
      const bool masked = (hdr_[1] & kMasked) != 0;
      if (!known_opcode(op) || masked != from_client_ ||
          (op >= 8 && ((hdr_[0] & kFin) == 0 || len7 > 125))) {
        broken_ = true;
        break;
      }
      if (op == 8) saw_close_ = true;
      need_ = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
    }
    if (have_ < need_) continue;
    start_payload();
    if (!broken_ && payload_left_ == 0) {  // an empty frame ends with its header
      ++frames_;
      if (stop_at_frame_end) return i;
    }
  }
  return broken_ ? len : i;
}

void WsFrames::start_payload() {
  const uint8_t len7 = hdr_[1] & 0x7f;
  uint64_t n = len7;
  if (len7 == 126) {
    n = uint64_t(hdr_[2]) << 8 | hdr_[3];
  } else if (len7 == 127) {
    n = 0;
    for (int k = 2; k < 10; ++k) n = n << 8 | hdr_[k];
    if (n >> 63) {  // §5.2: the most significant bit MUST be 0
      broken_ = true;
      return;
    }
  }
  payload_left_ = n;
  have_ = 0;
  need_ = 2;
}

std::string ws_close_frame(uint16_t code, const uint8_t* mask) {
  std::string out;
  out += char(kFin | 0x8);  // FIN + Close
  out += char((mask ? kMasked : 0) | 2);
  uint8_t payload[2] = {uint8_t(code >> 8), uint8_t(code & 0xff)};
  if (mask) {
    out.append(reinterpret_cast<const char*>(mask), 4);
    for (int k = 0; k < 2; ++k) payload[k] ^= mask[k];
  }
  out.append(reinterpret_cast<const char*>(payload), 2);
  return out;
}

}  // namespace lb::http
