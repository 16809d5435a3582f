#include "lb/metrics/latency_histogram.h"

#include <algorithm>

namespace lb::metrics {

namespace {

constexpr std::array<uint64_t, kLatencyBounds.size()> bounds_us() {
  std::array<uint64_t, kLatencyBounds.size()> out{};
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) out[i] = uint64_t(kLatencyBounds[i] * 1e6 + 0.5);
  return out;
}
constexpr auto kBoundsUs = bounds_us();

}  // namespace

size_t latency_bucket(uint64_t us) {
  // First bound >= us; past the last one, the +Inf bucket.
  return size_t(std::lower_bound(kBoundsUs.begin(), kBoundsUs.end(), us) - kBoundsUs.begin());
}

void HistogramTotals::add(const HistogramCells& c) {
  for (size_t i = 0; i < kLatencyBuckets; ++i) buckets[i] += c.buckets[i].value();
  sum_us += c.sum_us.value();
}

uint64_t HistogramTotals::count() const {
  uint64_t n = 0;
  for (uint64_t b : buckets) n += b;
  return n;
}

double HistogramTotals::mean_seconds() const {
  const uint64_t n = count();
  return n ? sum_seconds() / double(n) : 0.0;
}

double HistogramTotals::quantile_seconds(double q) const {
  const uint64_t n = count();
  if (n == 0) return 0.0;
  const double rank = std::clamp(q, 0.0, 1.0) * double(n);
  uint64_t below = 0;
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
    if (double(below + buckets[i]) >= rank && buckets[i] > 0) {
      const double lo = i == 0 ? 0.0 : kLatencyBounds[i - 1];
      const double hi = kLatencyBounds[i];
      return lo + (hi - lo) * (rank - double(below)) / double(buckets[i]);
    }
    below += buckets[i];
  }
  return kLatencyBounds.back();
}

}  // namespace lb::metrics
