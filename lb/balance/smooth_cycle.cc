#include "lb/balance/smooth_cycle.h"

#include <numeric>

#include "lb/balance/backend.h"
#include "lb/balance/smooth_weights.h"

namespace lb::balance {

std::vector<uint32_t> SmoothCycle::period(const std::vector<uint64_t>& weights) {
  uint64_t divisor = 0;
  size_t members = 0;
  for (uint64_t w : weights) {
    divisor = std::gcd(divisor, w);
    members += w > 0;
  }
  if (members == 0) return {};
  std::vector<int64_t> reduced(weights.size());
  uint64_t total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    reduced[i] = int64_t(weights[i] / divisor);
    total += uint64_t(reduced[i]);
    if (total > kMaxSlots) return {};
  }
  if (total * weights.size() > kMaxBuildSteps) return {};  // the walk visits every index

  // The walk itself, round after round: the period is its order by construction.
  SmoothWeights walk(weights.size());
  std::vector<uint32_t> slots;
  slots.reserve(total);
  for (uint64_t round = 0; round < total; ++round)
    slots.push_back(uint32_t(walk.next([&](size_t i) { return reduced[i]; })));
  return slots;
}

bool SmoothCycle::rebuild(const BackendList& backends, TimePoint now) {
  const uint64_t epoch = Backend::state_epoch();  // before reading the state it stands for
  if (epoch == epoch_ && now < next_attempt_) return false;
  epoch_ = epoch;
  valid_until_ = TimePoint::max();

  std::vector<uint64_t> weights(backends.size(), 0);
  for (size_t i = 0; i < backends.size(); ++i) {
    const Backend& b = *backends[i];
    if (b.weight() == 0) continue;
    if (!b.usable_at(now)) {
      // An ejection that runs out brings it back with no setter called.
      if (b.ejected_at(now)) valid_until_ = std::min(valid_until_, b.ejected_until());
      continue;
    }
    weights[i] = b.weight_at(now);
    if (weights[i] != uint64_t{b.weight()} * kWeightScale) {  // ramping up
      slots_.clear();
      weights_.clear();
      next_attempt_ = now + kRampRetry;
      return false;
    }
  }
  // Nobody usable, or too long a period: no use trying again until
  // something changes or an ejection runs out.
  next_attempt_ = valid_until_;
  // The epoch moved for another pool, or for a change that left this one
  // as it was: the order and the place in it stay.
  if (weights == weights_ && !slots_.empty()) return true;
  weights_ = std::move(weights);
  slots_ = period(weights_);
  // The place carries over instead of restarting at slot 0: restarting at
  // every change would hand the first slots (the heaviest backend, then
  // the lowest indexes) the picks made between changes, and starve the
  // last backends of a large pool whose workers pick less often than that.
  cursor_ = slots_.empty() ? 0 : cursor_ % slots_.size();
  return !slots_.empty();
}

}  // namespace lb::balance
