// The WebSocket frame-boundary tracker (lb/http/ws_frames.h) against a
// reference framer that reads the whole stream at once: fed in the cuts the
// input chooses, the tracker must be at a boundary exactly where a frame of
// the reference ends (and nowhere once the framing is broken), stop at the
// end of the frame in flight when asked, and a Close frame inserted at any
// boundary it reports must leave every frame of the stream whole.
// The first byte picks the direction (masked client frames or not).
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "lb/http/ws_frames.h"

namespace {

struct Reference {
  std::set<size_t> ends;  // offsets where a frame ends
  size_t broken_at = SIZE_MAX;  // bytes consumed when the framing broke
  size_t frames = 0;
};

// RFC 6455 §5.2, written plainly from the whole buffer.
Reference frame_ends(const std::string& s, bool masked_dir) {
  Reference r;
  size_t at = 0;
  while (at < s.size()) {
    if (s.size() - at < 2) return r;
    const uint8_t b0 = s[at], b1 = s[at + 1];
    const uint8_t op = b0 & 0x0f;
    const bool masked = b1 & 0x80;
    const uint8_t len7 = b1 & 0x7f;
    const bool known = op <= 2 || (op >= 8 && op <= 10);
    if (!known || masked != masked_dir || (op >= 8 && (!(b0 & 0x80) || len7 > 125))) {
      r.broken_at = at + 2;  // known from the first two bytes
      return r;
    }
    size_t hdr = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
    if (s.size() - at < hdr) return r;
    uint64_t n = len7;
    if (len7 == 126) n = uint64_t(uint8_t(s[at + 2])) << 8 | uint8_t(s[at + 3]);
    if (len7 == 127) {
      n = 0;
      for (int k = 2; k < 10; ++k) n = n << 8 | uint8_t(s[at + k]);
      if (n >> 63) {
        r.broken_at = at + hdr;
        return r;
      }
    }
    if (n > s.size() - at - hdr) return r;
    at += hdr + n;
    r.ends.insert(at);
    ++r.frames;
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool from_client = data[0] & 1;
  const std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const Reference ref = frame_ends(stream, from_client);
  const std::vector<size_t> cuts = lb::fuzz::read_cuts(data + 1, size - 1);

  lb::http::WsFrames tracker(from_client);
  std::string with_close;  // the stream with a Close frame at the first boundary past the half
  bool inserted = false;
  size_t at = 0;
  for (size_t piece : cuts) {
    FUZZ_CHECK(tracker.feed(stream.data() + at, piece) == piece);
    with_close.append(stream, at, piece);
    at += piece;
    const bool expect = at < ref.broken_at && ref.ends.count(at) > 0;
    FUZZ_CHECK(tracker.at_boundary() == expect);
    FUZZ_CHECK(tracker.broken() == (at >= ref.broken_at));
    if (!inserted && at * 2 >= stream.size() && tracker.at_boundary()) {
      const uint8_t key[4] = {1, 2, 3, 4};
      with_close += lb::http::ws_close_frame(lb::http::kWsGoingAway, from_client ? key : nullptr);
      inserted = true;
    }
  }
  if (ref.broken_at == SIZE_MAX) FUZZ_CHECK(tracker.frames() == ref.frames);
  if (inserted) {  // one frame more, none of the others touched (a later break stays a break)
    const Reference after = frame_ends(with_close, from_client);
    FUZZ_CHECK(after.frames == ref.frames + 1);
    FUZZ_CHECK((after.broken_at == SIZE_MAX) == (ref.broken_at == SIZE_MAX));
  }

  // Stopping at frame ends walks the same boundaries.
  lb::http::WsFrames stepper(from_client);
  size_t pos = 0;
  while (pos < stream.size()) {
    const size_t n = stepper.feed(stream.data() + pos, stream.size() - pos, true);
    FUZZ_CHECK(n > 0);
    pos += n;
    if (stepper.broken()) break;
    if (pos < stream.size()) FUZZ_CHECK(ref.ends.count(pos) > 0 && stepper.at_boundary());
  }
  return 0;
}
