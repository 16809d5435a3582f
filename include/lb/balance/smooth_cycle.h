#pragma once
// One period of nginx's smooth weighted round-robin (smooth_weights.h),
// computed once and then read a slot per pick: O(1) per pick where
// SmoothWeights walks every backend, which at a thousand backends costs
// microseconds on every request.
//
// From all-zero current weights the rounds repeat exactly every sum(weights)
// picks: in that many rounds each backend wins its weight's count of them
// and every current weight is back at zero. So the period is the whole
// sequence, and the sequence is nginx's. Weights are divided by their
// greatest common divisor first (the order is the same, the period shorter).
//
// A cycle describes the usable backends and their weights when it was
// built. When Backend::state_epoch() moves (a health, admin, ejection,
// address or weight change in any pool) or the first ejection it left out
// runs out by itself, the weights are read again (one pass) and the period
// is recomputed only if they differ. The new period is read on from the
// old one's position (modulo its length), where nginx would carry its
// current weights over the change: both give each backend its share of
// every period.
//
// No cycle is kept when it would not pay: while a backend ramps up in slow
// start its weight moves with time (tried again every kRampRetry), and when
// one period is longer than kMaxSlots or costs more than kMaxBuildSteps to
// compute (about 10 ms at the limit, once per change of this pool's usable
// set, on each worker). The caller then walks SmoothWeights as before.
// Owned by one worker: no synchronisation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "lb/balance/strategy.h"

namespace lb::balance {

class SmoothCycle {
 public:
  static constexpr size_t kMaxSlots = 1 << 16;
  static constexpr uint64_t kMaxBuildSteps = uint64_t{1} << 22;  // slots x backends
  static constexpr Duration kRampRetry = std::chrono::milliseconds(100);

  // The next slot's backend index, or false when no cycle describes the
  // backends at `now` (the caller walks SmoothWeights). Rebuilds first
  // when the cycle is out of date.
  bool next(const BackendList& backends, TimePoint now, size_t& index) {
    if (!current(now) && !rebuild(backends, now)) return false;
    index = slots_[cursor_];
    if (++cursor_ == slots_.size()) cursor_ = 0;
    return true;
  }

  // The period for these weights (index i weighs weights[i]; 0 = out), as
  // SmoothWeights would pick from all-zero current weights. Empty when no
  // weight is positive or the period is over the limits above.
  static std::vector<uint32_t> period(const std::vector<uint64_t>& weights);

 private:
  bool current(TimePoint now) const {
    return !slots_.empty() && epoch_ == Backend::state_epoch() && now < valid_until_;
  }
  bool rebuild(const BackendList& backends, TimePoint now);

  std::vector<uint64_t> weights_;  // what slots_ was computed from
  std::vector<uint32_t> slots_;
  size_t cursor_ = 0;
  uint64_t epoch_ = 0;
  TimePoint valid_until_{};    // the first ejection among those left out ends
  TimePoint next_attempt_{};   // no new build before this at the same epoch_ (the clock's start: none yet)
};

}  // namespace lb::balance
