#include "lb/balance/weighted_round_robin.h"

namespace lb::balance {

Backend* WeightedRoundRobin::pick(const PickContext& ctx) {
  const TimePoint now = ctx.now;
  // The cycle's next slots, passing over a backend this request cannot
  // take (tried already, or full): its turn is spent, as a full backend's
  // should be. A few in a row and the walk below decides.
  size_t i = kNoIndex;
  for (int passed = 0; passed < kMaxPassed && cycle_.next(backends_, now, i); ++passed)
    if (is_candidate(backends_, i, ctx, now)) return backends_[i].get();

  i = weights_.next([&](size_t i) -> int64_t {
    return is_candidate(backends_, i, ctx, now) ? int64_t(backends_[i]->weight_at(now)) : 0;
  });
  return i == kNoIndex ? nullptr : backends_[i].get();
}

}  // namespace lb::balance
