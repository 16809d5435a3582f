#pragma once
// Maglev's lookup table (Eisenbud et al., NSDI 2016), weighted as Envoy
// builds it: a prime number of slots, each naming a backend, filled from a
// per-backend permutation of the slots so that each backend owns a share of
// slots proportional to its weight, and a membership change reassigns close
// to the minimum. Built once (per reload), then read-only: lookup is one
// array access.
#include <cstdint>
#include <vector>

#include "lb/balance/strategy.h"

namespace lb::balance {

class MaglevTable {
 public:
  static constexpr uint32_t kDefaultSize = 65537;  // prime, as in Envoy

  // Backends of weight 0 get no slot. `size` must be prime.
  explicit MaglevTable(const BackendList& backends, uint32_t size = kDefaultSize);

  bool empty() const { return slots_.empty(); }
  size_t size() const { return slots_.size(); }
  // The index (into the BackendList) of the backend owning `slot % size()`.
  size_t at(uint64_t slot) const { return slots_[slot % slots_.size()]; }

 private:
  std::vector<uint32_t> slots_;
};

}  // namespace lb::balance
