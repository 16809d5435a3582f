#pragma once
// Strict rotation over usable backends; weights ignored.
#include "lb/balance/strategy.h"

namespace lb::balance {

class RoundRobin final : public Strategy {
 public:
  explicit RoundRobin(BackendList backends) : backends_(std::move(backends)) {}
  Backend* pick(const PickContext& ctx) override;

 private:
  BackendList backends_;
  size_t next_ = 0;
};

}  // namespace lb::balance
