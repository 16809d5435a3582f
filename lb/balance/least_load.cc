#include "lb/balance/least_load.h"

#include "lb/balance/candidate.h"

namespace lb::balance {

namespace {

// Random pairs tried before one pass over the list (as p2c_ewma).
constexpr int kDraws = 4;

}  // namespace

LeastLoad::LeastLoad(BackendList backends, Duration max_age, uint64_t seed)
    : backends_(std::move(backends)), max_age_(max_age), rng_(seed) {}

size_t LeastLoad::random_below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

double LeastLoad::cost(const Backend& b, TimePoint now) const {
  const double load = b.fresh_reported_load(now, max_age_) + b.active_requests();
  return load * double(kWeightScale) / double(std::max<uint64_t>(1, b.weight_at(now)));
}

size_t LeastLoad::cheaper(size_t a, size_t b, TimePoint now) const {
  return cost(*backends_[b], now) < cost(*backends_[a], now) ? b : a;
}

Backend* LeastLoad::pick_at(const PickContext& ctx, TimePoint now) {
  const size_t n = backends_.size();
  auto takes_part = [&](size_t i) { return backends_[i]->weight() > 0 && is_candidate(backends_, i, ctx, now); };

  if (n >= 2) {
    for (int draw = 0; draw < kDraws; ++draw) {
      const size_t a = random_below(n);
      size_t b = random_below(n - 1);
      if (b >= a) ++b;
      if (takes_part(a) && takes_part(b)) return backends_[cheaper(a, b, now)].get();
    }
  }
  // Few candidates left: two of them uniformly in one pass (reservoir
  // sampling), then the same rule.
  size_t chosen[2] = {kNoIndex, kNoIndex};
  size_t seen = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!takes_part(i)) continue;
    ++seen;
    const size_t slot = seen <= 2 ? seen - 1 : random_below(seen);
    if (slot < 2) chosen[slot] = i;
  }
  if (chosen[0] == kNoIndex) return nullptr;
  if (chosen[1] == kNoIndex) return backends_[chosen[0]].get();
  return backends_[cheaper(chosen[0], chosen[1], now)].get();
}

}  // namespace lb::balance
