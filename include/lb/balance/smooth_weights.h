#pragma once
// nginx's smooth weighted round-robin (ngx_http_upstream_get_peer): each
// round every participant gains its weight, the one holding the most wins
// and pays back the round's total. For weights 5,1,1 the order is
// a a b a c a a: exact proportions, and never a burst of one backend.
// Used by weighted_round_robin directly and by least_connections to share
// ties. Owned by one worker: no synchronisation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "lb/balance/candidate.h"

namespace lb::balance {

class SmoothWeights {
 public:
  explicit SmoothWeights(size_t count) : current_(count, 0) {}

  // `weight_of(i)` is index i's weight for this round; 0 = not taking part
  // (unusable, tried, or weight 0). Returns the winner or kNoIndex.
  template <class WeightOf>
  size_t next(WeightOf&& weight_of) {
    size_t best = kNoIndex;
    int64_t total = 0;
    for (size_t i = 0; i < current_.size(); ++i) {
      const int64_t weight = weight_of(i);
      if (weight <= 0) continue;
      current_[i] += weight;
      total += weight;
      if (best == kNoIndex || current_[i] > current_[best]) best = i;
    }
    if (best != kNoIndex) current_[best] -= total;
    return best;
  }

 private:
  std::vector<int64_t> current_;
};

}  // namespace lb::balance
