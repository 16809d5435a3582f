#pragma once
// Fewest in-flight requests per unit of weight. The in-flight count is the
// Backend atomic, so it covers every worker, not just this one. Backends
// that tie (always the case when idle) share requests by smooth weighted
// rotation, as nginx's least_conn does: equal backends alternate, and
// weights still matter when the pool is lightly loaded.
#include "lb/balance/smooth_weights.h"
#include "lb/balance/strategy.h"

namespace lb::balance {

class LeastConnections final : public Strategy {
 public:
  explicit LeastConnections(BackendList backends)
      : backends_(std::move(backends)), ties_(backends_.size()) {}
  Backend* pick(const PickContext& ctx) override;

 private:
  BackendList backends_;
  SmoothWeights ties_;
};

}  // namespace lb::balance
