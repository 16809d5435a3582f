#include "lb/http2/flood_guard.h"

#include <algorithm>

namespace lb::http2 {

void TokenBucket::refill(TimePoint now) {
  if (!started_) {
    started_ = true;
    last_ = now;
    return;
  }
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + seconds * rate_);
  last_ = now;
}

bool TokenBucket::take(TimePoint now) {
  refill(now);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void TokenBucket::credit(double n) { tokens_ = std::min(burst_, tokens_ + n); }

FloodGuard::FloodGuard(uint32_t max_concurrent_streams)
    : early_resets_(std::max(100.0, 2.0 * max_concurrent_streams), 50),
      control_(1000, 100),
      empty_(100, 10),
      refused_(100, 10) {}

size_t continuation_limit(size_t max_header_list_bytes) {
  return std::max<size_t>(8, 2 * (max_header_list_bytes / 16384 + 1));
}

}  // namespace lb::http2
