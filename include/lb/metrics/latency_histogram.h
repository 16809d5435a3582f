#pragma once
// Response-time histograms with fixed buckets for an HTTP proxy: from
// 0.5 ms (a loopback backend) to 30 s (a slow report or a long poll).
// HistogramCells is one worker's single-writer share; HistogramTotals is the
// sum over workers that the scrape and the status page read.
#include <array>
#include <chrono>
#include <cstdint>

#include "lb/metrics/local_counter.h"

namespace lb::metrics {

// Upper bounds in seconds (Prometheus `le`), then an implicit +Inf.
inline constexpr std::array<double, 15> kLatencyBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                          0.25,   0.5,   1,      2.5,   5,     10,   30};
inline constexpr size_t kLatencyBuckets = kLatencyBounds.size() + 1;  // + the +Inf bucket

// The bucket an observation of `us` microseconds falls in (le semantics).
size_t latency_bucket(uint64_t us);

struct HistogramCells {
  std::array<LocalCounter, kLatencyBuckets> buckets;  // not cumulative
  LocalCounter sum_us;

  // Only from the owning worker.
  void observe(std::chrono::microseconds d) {
    const uint64_t us = d.count() < 0 ? 0 : uint64_t(d.count());
    buckets[latency_bucket(us)].add();
    sum_us.add(us);
  }
};

struct HistogramTotals {
  std::array<uint64_t, kLatencyBuckets> buckets{};  // not cumulative
  uint64_t sum_us = 0;

  void add(const HistogramCells& c);
  uint64_t count() const;
  double sum_seconds() const { return double(sum_us) / 1e6; }
  // Mean in seconds; 0 without observations.
  double mean_seconds() const;
  // The q-quantile in seconds estimated as Prometheus' histogram_quantile()
  // does (linear within the bucket); 0 without observations. Past the last
  // finite bound it answers that bound.
  double quantile_seconds(double q) const;
};

}  // namespace lb::metrics
