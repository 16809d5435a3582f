#include "lb/balance/p2c_ewma.h"

#include <algorithm>

#include "lb/balance/candidate.h"
#include "lb/balance/two_choices.h"
#include "lb/balance/peak_ewma.h"

namespace lb::balance {

P2cEwma::P2cEwma(BackendList backends, uint64_t seed)
    : backends_(std::move(backends)), rng_(seed) {}

size_t P2cEwma::random_below(size_t n) { return rng_.below(n); }

size_t P2cEwma::cheaper(size_t a, size_t b, TimePoint now) const {
  const Backend& x = *backends_[a];
  const Backend& y = *backends_[b];
  // cost = latency x (in-flight + 1) / weight, compared with both sides
  // multiplied by both weights: no division.
  const double load_a = double(x.active_requests() + 1) * double(y.weight_at(now));
  const double load_b = double(y.active_requests() + 1) * double(x.weight_at(now));
  const double latency_a = x.latency_ewma_us();
  const double latency_b = y.latency_ewma_us();
  // No samples: optimistic. A backend without borrows its rival's latency,
  // so the comparison falls to in-flight counts.
  if (latency_a == 0 || latency_b == 0) return load_b < load_a ? b : a;
  // Each estimate decays from its own last sample:
  //   latency_b x decay(idle_b) x load_b  <  latency_a x decay(idle_a) x load_a
  // with both sides divided by decay(idle_a), which leaves one exp.
  const double decay_b = peak_ewma::decay_ratio(now - y.latency_updated_at(), now - x.latency_updated_at());
  return latency_b * decay_b * load_b < latency_a * load_a ? b : a;
}

size_t P2cEwma::choose(size_t a, size_t b, TimePoint now) const {
  const size_t winner = cheaper(a, b, now);
  const size_t loser = winner == a ? b : a;
  Backend& l = *backends_[loser];
  const bool stale = l.latency_ewma_us() > 0 && now - l.latency_updated_at() >= kProbeAfter;
  return stale && l.claim_probe(now, kProbeAfter) ? loser : winner;
}

Backend* P2cEwma::pick_at(const PickContext& ctx, TimePoint now) {
  const size_t n = backends_.size();
  auto takes_part = [&](size_t i) { return backends_[i]->weight() > 0 && is_candidate(backends_, i, ctx, now); };

  const size_t i = pick_two_choices(
      n, takes_part, [this](size_t k) { return random_below(k); },
      [&](size_t a, size_t b) { return choose(a, b, now); });
  return i == kNoIndex ? nullptr : backends_[i].get();
}

void P2cEwma::record(Backend& b, std::chrono::microseconds response_time, bool ok, TimePoint now) {
  const std::chrono::nanoseconds since = now - b.latency_updated_at();
  const double estimate = b.latency_ewma_us();
  const double previous = peak_ewma::decayed(estimate, since);
  // At least 1 us: 0 means "no sample" to the Backend.
  double sample = std::max<double>(1, static_cast<double>(response_time.count()));
  if (!ok) sample = std::max(sample, previous);
  if (estimate == 0 || sample >= previous) {
    // The first answer, or one as slow as the estimate says: believed at
    // once (peak-EWMA), and the peak is held from here.
    b.set_latency_ewma_us(sample, now);
    b.set_latency_peak(now, 0);
    return;
  }
  const double worst_since_peak = std::max(b.latency_worst_since_peak_us(), sample);
  if (now - b.latency_peak_at() >= kHoldPeak) {
    // No answer reached the peak for kHoldPeak (or none came at all, as
    // after a probe): it is old news, and the worst answer since replaces it.
    // Never upwards: a worst answer from before a long silence may be above
    // what the estimate has decayed to, and only a sample raises it.
    b.set_latency_ewma_us(std::max(sample, std::min(previous, worst_since_peak)), now);
    b.set_latency_peak(now, 0);
    return;
  }
  b.set_latency_ewma_us(peak_ewma::observe(estimate, sample, since), now);
  b.set_latency_peak(b.latency_peak_at(), worst_since_peak);
}

}  // namespace lb::balance
