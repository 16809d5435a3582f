#include "lb/balance/round_robin.h"

#include "lb/balance/candidate.h"

namespace lb::balance {

Backend* RoundRobin::pick(const PickContext& ctx) {
  const size_t n = backends_.size();
  const TimePoint now = ctx.now;
  for (size_t step = 0; step < n; ++step) {
    const size_t i = (next_ + step) % n;
    if (!is_candidate(backends_, i, ctx, now)) continue;
    next_ = (i + 1) % n;
    return backends_[i].get();
  }
  return nullptr;
}

}  // namespace lb::balance
