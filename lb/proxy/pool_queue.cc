#include "lb/proxy/pool_queue.h"

#include <algorithm>

namespace lb::proxy {

uint64_t PoolQueue::try_join(uint32_t max) {
  uint32_t now = waiting_.load(std::memory_order_relaxed);
  do {
    if (now >= max) return kNoTicket;
  } while (!waiting_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  return next_ticket_.fetch_add(1, std::memory_order_relaxed);
}

void PoolQueue::publish(unsigned w, uint64_t oldest_unpinned, uint32_t pinned) {
  if (w >= shares_.size()) return;
  shares_[w].oldest_unpinned.store(oldest_unpinned, std::memory_order_release);
  shares_[w].pinned.store(pinned, std::memory_order_release);
}

std::pair<unsigned, uint64_t> PoolQueue::oldest_elsewhere(unsigned self, unsigned workers) const {
  std::pair<unsigned, uint64_t> best{0, kNoTicket};
  const unsigned n = std::min<unsigned>(workers, unsigned(shares_.size()));
  for (unsigned w = 0; w < n; ++w) {
    if (w == self) continue;
    const uint64_t t = shares_[w].oldest_unpinned.load(std::memory_order_acquire);
    if (t < best.second) best = {w, t};
  }
  return best;
}

void PoolQueue::kick(const WorkerWakers& wakers) const {
  if (length() == 0) return;
  const unsigned n = std::min<unsigned>(wakers.size(), unsigned(shares_.size()));
  unsigned oldest = n;
  uint64_t oldest_ticket = kNoTicket;
  for (unsigned w = 0; w < n; ++w) {
    const uint64_t t = shares_[w].oldest_unpinned.load(std::memory_order_acquire);
    if (t < oldest_ticket) {
      oldest_ticket = t;
      oldest = w;
    }
    if (shares_[w].pinned.load(std::memory_order_acquire) > 0) wakers.wake(w);
  }
  if (oldest < n) wakers.wake(oldest);
}

}  // namespace lb::proxy
