#include "lb/balance/ip_hash.h"

#include <xxhash.h>

#include <cmath>

#include "lb/balance/candidate.h"

namespace lb::balance {

IpHash::IpHash(BackendList backends) : backends_(std::move(backends)), no_key_(backends_) {
  seeds_.reserve(backends_.size());
  weights_.reserve(backends_.size());
  for (const auto& b : backends_) {
    seeds_.push_back(XXH3_64bits(b->name().data(), b->name().size()));
    weights_.push_back(b->weight());
    equal_weights_ = equal_weights_ && weights_.back() == weights_.front();
  }
  // Past 65,535 backends (never in practice) every pick scores them all.
  if (backends_.empty() || backends_.size() >= kUnknown) return;
  winners_.assign(kBuckets, kUnknown);
}

// Weighted rendezvous score -w / ln(u), u uniform in (0, 1) from the
// (bucket, backend) hash: the highest score wins, and a backend wins
// w / sum(w) of all buckets. With equal weights u alone ranks the same way,
// and cheaper.
double IpHash::score(size_t index, uint64_t bucket) const {
  const uint64_t h = XXH3_64bits_withSeed(&bucket, sizeof bucket, seeds_[index]);
  const double u = (static_cast<double>(h >> 11) + 0.5) * 0x1p-53;
  return equal_weights_ ? u : -weights_[index] / std::log(u);
}

template <class Accepts>
size_t IpHash::best_for(uint64_t bucket, Accepts&& accepts) const {
  size_t best = kNoIndex;
  double best_score = 0;
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (weights_[i] == 0 || !accepts(i)) continue;
    const double s = score(i, bucket);
    if (best == kNoIndex || s > best_score) {
      best = i;
      best_score = s;
    }
  }
  return best;
}

Backend* IpHash::pick(const PickContext& ctx) {
  if (!ctx.hash) return no_key_.pick(ctx);
  const TimePoint now = ctx.now;
  const uint64_t bucket = *ctx.hash >> kBucketShift;
  if (!winners_.empty()) {
    uint16_t& winner = winners_[bucket];
    if (winner == kUnknown) {
      const size_t best = best_for(bucket, [](size_t) { return true; });
      if (best == kNoIndex) return nullptr;  // every weight is 0
      winner = uint16_t(best);
    }
    if (is_candidate(backends_, winner, ctx, now)) return backends_[winner].get();
  }
  // The bucket's own order among the backends this request can take.
  const size_t best = best_for(bucket, [&](size_t i) { return is_candidate(backends_, i, ctx, now); });
  return best == kNoIndex ? nullptr : backends_[best].get();
}

}  // namespace lb::balance
