#pragma once
// A response body produced piece by piece. The connection asks for the next
// piece only once the previous one has been written to the socket, so a slow
// reader holds back the producer instead of growing memory.
#include <cstdint>
#include <string_view>

namespace demo {

class BodyStream {
 public:
  explicit BodyStream(uint64_t interval_ms = 0) : interval_ms_(interval_ms) {}
  virtual ~BodyStream() = default;

  virtual bool done() const = 0;
  // The next non-empty piece; call only while !done(). The view stays valid
  // until the next call or the stream's destruction.
  virtual std::string_view next() = 0;
  // Pause between two pieces (for /chunked and /sse).
  uint64_t interval_ms() const { return interval_ms_; }
  // Silence between the head and the first piece (a model's prefill).
  virtual uint64_t first_delay_ms() const { return 0; }
  // True when the connection must drop now, before the next piece, as a
  // server that crashes mid-reply (no end of the body).
  virtual bool cut() const { return false; }

 private:
  uint64_t interval_ms_;
};

}  // namespace demo
