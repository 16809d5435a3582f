#include "lb/balance/least_load.h"

#include "lb/balance/candidate.h"
#include "lb/balance/two_choices.h"

namespace lb::balance {

LeastLoad::LeastLoad(BackendList backends, Duration max_age, uint64_t seed)
    : backends_(std::move(backends)), max_age_(max_age), rng_(seed) {}

size_t LeastLoad::random_below(size_t n) { return rng_.below(n); }

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

  const size_t i = pick_two_choices(
      n, takes_part, [this](size_t k) { return random_below(k); },
      [&](size_t a, size_t b) { return cheaper(a, b, now); });
  return i == kNoIndex ? nullptr : backends_[i].get();
}

}  // namespace lb::balance
