#include "lb/balance/consistent_hash.h"

#include <algorithm>
#include <cmath>

#include "lb/balance/candidate.h"

namespace lb::balance {

ConsistentHash::ConsistentHash(BackendList backends, double bounded_load, uint32_t table_size)
    : backends_(std::move(backends)),
      table_(backends_, table_size),
      bounded_load_(bounded_load > 1 ? bounded_load : 0),
      // A few slots per backend finds a candidate unless most are out; then
      // one pass over the list is cheaper than wandering the table.
      max_walk_(std::min<size_t>(table_.size(), 4 * backends_.size() + 16)),
      no_key_(backends_) {}

ConsistentHash::PoolLoad ConsistentHash::measure_load(TimePoint now) const {
  PoolLoad load{.in_flight = 1};
  for (const auto& b : backends_) {
    if (b->weight() == 0 || !b->usable_at(now)) continue;
    load.in_flight += b->active_requests();
    load.weight += b->weight();
  }
  return load;
}

bool ConsistentHash::has_room(size_t index, const PoolLoad& load) const {
  const Backend& b = *backends_[index];
  const double share = load.in_flight * b.weight() / load.weight;
  // The epsilon keeps float noise from rounding an exact bound up a step.
  const double ceiling = std::ceil(bounded_load_ * share - 1e-9);
  return b.active_requests() + 1 <= ceiling;
}

Backend* ConsistentHash::pick(const PickContext& ctx) {
  if (!ctx.hash) return no_key_.pick(ctx);
  if (table_.empty()) return nullptr;
  const TimePoint now = ctx.now;
  const PoolLoad load = bounded_load_ > 0 ? measure_load(now) : PoolLoad{};

  size_t fallback = kNoIndex;  // first candidate seen that was over the bound
  auto accepts = [&](size_t i) {
    if (backends_[i]->weight() == 0 || !is_candidate(backends_, i, ctx, now)) return false;
    if (bounded_load_ == 0 || has_room(i, load)) return true;
    if (fallback == kNoIndex) fallback = i;
    return false;
  };

  const uint64_t start = *ctx.hash % table_.size();
  for (size_t step = 0; step < max_walk_; ++step) {
    const size_t i = table_.at(start + step);
    if (accepts(i)) return backends_[i].get();
  }
  const size_t n = backends_.size();
  for (size_t step = 0; step < n; ++step) {
    const size_t i = (start + step) % n;
    if (accepts(i)) return backends_[i].get();
  }
  // Only tried backends had room: availability beats the bound.
  return fallback == kNoIndex ? nullptr : backends_[fallback].get();
}

}  // namespace lb::balance
