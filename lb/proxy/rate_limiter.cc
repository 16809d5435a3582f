#include "lb/proxy/rate_limiter.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>

namespace lb::proxy {

namespace {

constexpr int kTimeBits = 48;
constexpr uint64_t kTimeMask = (uint64_t{1} << kTimeBits) - 1;
// A CAS lost to another worker updating the same client is retried; past
// this many (a pathological storm on one cell) the request is admitted.
constexpr int kMaxAttempts = 8;

uint64_t tag_of(uint64_t cell) { return cell >> kTimeBits; }
uint64_t time_of(uint64_t cell) { return cell & kTimeMask; }
uint64_t pack(uint64_t tag, uint64_t time_us) { return tag << kTimeBits | (time_us & kTimeMask); }

}  // namespace

RateLimiter::RateLimiter(double rps, uint64_t burst, size_t sets)
    : rps_(rps),
      burst_(burst),
      interval_us_(std::max<uint64_t>(1, uint64_t(std::llround(1e6 / rps)))),
      tolerance_us_(burst * interval_us_),
      epoch_(Clock::now()),
      set_mask_(std::bit_ceil(std::max<size_t>(sets, 1)) - 1),
      cells_(new std::atomic<uint64_t>[(set_mask_ + 1) * kWays]) {
  for (size_t i = 0; i < (set_mask_ + 1) * kWays; ++i) cells_[i].store(0, std::memory_order_relaxed);
}

RateLimiter::Verdict RateLimiter::admit(std::string_view client, TimePoint now) {
  const uint64_t h = XXH3_64bits(client.data(), client.size());
  const uint64_t tag = std::max<uint64_t>(1, h >> kTimeBits);  // tag 0 marks an empty cell
  std::atomic<uint64_t>* set = &cells_[(h & set_mask_) * kWays];
  // Times start at 1 so that an empty cell (0) is never mistaken for a client.
  const auto since = std::chrono::duration_cast<std::chrono::microseconds>(now - epoch_).count();
  const uint64_t now_us = uint64_t(std::max<int64_t>(since, 0)) + 1;

  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    // The client's own cell, if it has one.
    for (size_t i = 0; i < kWays; ++i) {
      const uint64_t seen = set[i].load(std::memory_order_acquire);
      if (tag_of(seen) == tag) return admit_in(set[i], seen, tag, now_us);
    }
    // A new client (or one whose schedule had caught up and was reused):
    // its first request is always admitted. Take an empty or idle cell, or
    // else the one closest to idle.
    size_t victim = 0;
    uint64_t victim_seen = set[0].load(std::memory_order_acquire);
    for (size_t i = 1; i < kWays && time_of(victim_seen) > now_us; ++i) {
      const uint64_t seen = set[i].load(std::memory_order_acquire);
      if (time_of(seen) < time_of(victim_seen)) victim = i, victim_seen = seen;
    }
    if (set[victim].compare_exchange_strong(victim_seen, pack(tag, now_us + interval_us_),
                                            std::memory_order_acq_rel))
      return {};
  }
  return {};
}

RateLimiter::Verdict RateLimiter::admit_in(std::atomic<uint64_t>& cell, uint64_t seen, uint64_t tag,
                                           uint64_t now_us) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (tag_of(seen) != tag) return {};  // evicted meanwhile by a busy set: fail open
    const uint64_t tat = std::max(time_of(seen), now_us);
    if (tat - now_us > tolerance_us_)
      return {false, std::chrono::microseconds(tat - now_us - tolerance_us_)};
    if (cell.compare_exchange_weak(seen, pack(tag, tat + interval_us_), std::memory_order_acq_rel)) return {};
  }
  return {};
}

}  // namespace lb::proxy
