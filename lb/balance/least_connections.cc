#include "lb/balance/least_connections.h"

namespace lb::balance {

namespace {

// active / weight, compared by cross-multiplying so equal loads compare
// equal exactly (no floating point).
struct Load {
  int64_t active;
  int64_t weight;

  // Weights as ramped by slow start (Backend::weight_at).
  static Load of(const Backend& b, TimePoint now) { return {b.active_requests(), int64_t(b.weight_at(now))}; }
  bool operator<(const Load& o) const { return active * o.weight < o.active * weight; }
  bool operator==(const Load& o) const { return active * o.weight == o.active * weight; }
};

}  // namespace

Backend* LeastConnections::pick(const PickContext& ctx) {
  const TimePoint now = ctx.now;
  auto takes_part = [&](size_t i) { return is_candidate(backends_, i, ctx, now) && backends_[i]->weight() > 0; };

  size_t least = kNoIndex;
  Load least_load{};
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (!takes_part(i)) continue;
    const Load load = Load::of(*backends_[i], now);
    if (least == kNoIndex || load < least_load) {
      least = i;
      least_load = load;
    }
  }
  if (least == kNoIndex) return nullptr;

  const size_t chosen = ties_.next([&](size_t i) -> int64_t {
    return takes_part(i) && Load::of(*backends_[i], now) == least_load ? int64_t(backends_[i]->weight_at(now)) : 0;
  });
  // Another worker may have changed every count between the two passes.
  return backends_[chosen == kNoIndex ? least : chosen].get();
}

}  // namespace lb::balance
