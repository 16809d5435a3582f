#include "lb/balance/weighted_round_robin.h"

namespace lb::balance {

Backend* WeightedRoundRobin::pick(const PickContext& ctx) {
  const TimePoint now = Clock::now();
  const size_t i = weights_.next([&](size_t i) -> int64_t {
    return is_candidate(backends_, i, ctx, now) ? int64_t(backends_[i]->weight_at(now)) : 0;
  });
  return i == kNoIndex ? nullptr : backends_[i].get();
}

}  // namespace lb::balance
