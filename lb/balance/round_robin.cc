#include "lb/balance/round_robin.h"

namespace lb::balance {

Backend* RoundRobin::pick(const PickContext& ctx) {
  const size_t n = backends_.size();
  const TimePoint now = Clock::now();
  for (size_t step = 0; step < n; ++step) {
    const size_t i = (next_ + step) % n;
    if (ctx.tried && ctx.tried->contains(i)) continue;
    if (!backends_[i]->usable_at(now)) continue;
    next_ = (i + 1) % n;
    return backends_[i].get();
  }
  return nullptr;
}

}  // namespace lb::balance
