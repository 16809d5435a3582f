#pragma once
// Power of two random choices over what the backends say about themselves:
//   cost = (reported load + in-flight requests) / weight
// The reported load comes from load_report (a response header or a polled
// gauge, kept on the Backend); a backend with no report yet, or whose last
// report is older than `max_age` (3 x load_report.interval), counts as its
// in-flight requests alone, so a backend that stops reporting is neither
// starved nor flooded on a stale number. In-flight counts cover every
// worker; two random choices keep the workers from herding onto the one
// backend that looked emptiest at the last report.
//
// The PRNG is per instance (one instance per worker per pool).

#include "lb/balance/small_random.h"
#include "lb/balance/strategy.h"

namespace lb::balance {

class LeastLoad final : public Strategy {
 public:
  LeastLoad(BackendList backends, Duration max_age, uint64_t seed);

  Backend* pick(const PickContext& ctx) override { return pick_at(ctx, ctx.now); }
  Backend* pick_at(const PickContext& ctx, TimePoint now);

  // The cost compared, per kWeightScale of weight (exposed for tests).
  double cost(const Backend& b, TimePoint now) const;

 private:
  size_t cheaper(size_t a, size_t b, TimePoint now) const;
  size_t random_below(size_t n);

  BackendList backends_;
  Duration max_age_;
  SmallRandom rng_;
};

}  // namespace lb::balance
