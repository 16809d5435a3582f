#pragma once
// Smooth weighted round-robin, exactly as nginx does it (see
// smooth_weights.h), read from a precomputed period (smooth_cycle.h) so a
// pick costs the same at a thousand backends as at three. A weight change
// arrives with a reload (which may also keep the Backend and set its
// weight) or from DNS SRV discovery; either moves Backend::state_epoch().
// Weight 0 means "no new requests" as in HAProxy.
#include "lb/balance/candidate.h"
#include "lb/balance/smooth_cycle.h"
#include "lb/balance/smooth_weights.h"
#include "lb/balance/strategy.h"

namespace lb::balance {

class WeightedRoundRobin final : public Strategy {
 public:
  explicit WeightedRoundRobin(BackendList backends)
      : backends_(std::move(backends)), weights_(backends_.size()) {}
  Backend* pick(const PickContext& ctx) override;

 private:
  // Slots of the cycle one pick may pass over before walking the weights.
  static constexpr int kMaxPassed = 8;

  BackendList backends_;
  SmoothCycle cycle_;
  SmoothWeights weights_;  // while no cycle applies (slow start, huge periods)
};

}  // namespace lb::balance
