#pragma once
// Smooth weighted round-robin, exactly as nginx does it (see
// smooth_weights.h). A weight change arrives with a reload, which builds a
// new instance; weight 0 means "no new requests" as in HAProxy.
#include "lb/balance/smooth_weights.h"
#include "lb/balance/strategy.h"

namespace lb::balance {

class WeightedRoundRobin final : public Strategy {
 public:
  explicit WeightedRoundRobin(BackendList backends)
      : backends_(std::move(backends)), weights_(backends_.size()) {}
  Backend* pick(const PickContext& ctx) override;

 private:
  BackendList backends_;
  SmoothWeights weights_;
};

}  // namespace lb::balance
