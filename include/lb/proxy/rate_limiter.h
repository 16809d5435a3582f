#pragma once
// Per-client-IP request rate limiting: a listener's `rate_limit: {rps, burst}`.
//
// One limiter per listener is shared by every worker, so a client is held to
// `rps` however SO_REUSEPORT spreads its connections; it takes no lock. The
// algorithm is GCRA (the token bucket written as one timestamp per client,
// the "theoretical arrival time"): a request is admitted when it comes no
// more than `burst` emission intervals (1/rps) ahead of schedule, so a client
// may send burst + 1 requests at once and then `rps` per second, like nginx's
// `limit_req ... burst=N nodelay`. A refused request does not move the
// schedule, so a client that keeps hammering is admitted again as soon as it
// slows to `rps`.
//
// Clients live in a fixed table of 64-bit cells (16-bit tag + 48-bit
// timestamp in microseconds since the limiter was made, enough for 8.9
// years), four cells per set, chosen by an XXH3 hash of the address bytes.
// A client whose schedule has caught up with the clock holds nothing worth
// keeping, so its cell is reused. Only when all four cells of a set hold
// clients that are still ahead of schedule is the one closest to being idle
// evicted: that client starts afresh. The table fails open (admits) rather
// than refuse a client for someone else's traffic.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "lb/core/time.h"

namespace lb::proxy {

class RateLimiter {
 public:
  struct Verdict {
    bool admitted = true;
    std::chrono::microseconds retry_after{0};  // refused: until the next one would be admitted
  };

  static constexpr size_t kWays = 4;
  static constexpr size_t kDefaultSets = 16384;  // 65536 clients ahead of schedule; 512 KiB

  // rps > 0 (the loader caps it at 1,000,000 and burst at 1,000,000).
  // `sets` is rounded up to a power of two.
  RateLimiter(double rps, uint64_t burst, size_t sets = kDefaultSets);

  // `client` is the 4 or 16 address bytes; `now` a steady-clock reading.
  Verdict admit(std::string_view client, TimePoint now);

  double rps() const { return rps_; }
  uint64_t burst() const { return burst_; }

 private:
  Verdict admit_in(std::atomic<uint64_t>& cell, uint64_t seen, uint64_t tag, uint64_t now_us);

  const double rps_;
  const uint64_t burst_;
  const uint64_t interval_us_;   // one request's worth of schedule: 1/rps
  const uint64_t tolerance_us_;  // how far ahead of schedule a client may be: burst/rps
  const TimePoint epoch_;
  const size_t set_mask_;
  std::unique_ptr<std::atomic<uint64_t>[]> cells_;
};

}  // namespace lb::proxy
