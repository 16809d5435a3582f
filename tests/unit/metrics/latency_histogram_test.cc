#include "lb/metrics/latency_histogram.h"

#include <gtest/gtest.h>

namespace lb::metrics {
namespace {

using std::chrono::microseconds;

TEST(LatencyHistogram, BucketsSpanHalfAMillisecondToThirtySeconds) {
  EXPECT_DOUBLE_EQ(kLatencyBounds.front(), 0.0005);
  EXPECT_DOUBLE_EQ(kLatencyBounds.back(), 30.0);
  for (size_t i = 1; i < kLatencyBounds.size(); ++i) EXPECT_LT(kLatencyBounds[i - 1], kLatencyBounds[i]);
}

TEST(LatencyHistogram, UpperBoundsAreInclusive) {
  EXPECT_EQ(latency_bucket(0), 0u);
  EXPECT_EQ(latency_bucket(500), 0u);  // le="0.0005"
  EXPECT_EQ(latency_bucket(501), 1u);
  EXPECT_EQ(latency_bucket(1000), 1u);
  EXPECT_EQ(latency_bucket(1'000'000), 10u);  // le="1"
  EXPECT_EQ(latency_bucket(30'000'000), 14u);
  EXPECT_EQ(latency_bucket(30'000'001), 15u);  // +Inf
}

TEST(LatencyHistogram, TotalsSumCellsAndEstimateQuantiles) {
  HistogramCells a, b;
  for (int i = 0; i < 90; ++i) a.observe(microseconds(800));   // (0.5 ms, 1 ms]
  for (int i = 0; i < 10; ++i) b.observe(microseconds(200'000));  // (100 ms, 250 ms]
  HistogramTotals t;
  t.add(a);
  t.add(b);
  EXPECT_EQ(t.count(), 100u);
  EXPECT_DOUBLE_EQ(t.sum_seconds(), 90 * 0.0008 + 10 * 0.2);
  EXPECT_NEAR(t.mean_seconds(), (90 * 0.0008 + 10 * 0.2) / 100, 1e-12);
  // Median: the 50th of 90 in (0.5 ms, 1 ms], linear within the bucket.
  EXPECT_NEAR(t.quantile_seconds(0.5), 0.0005 + 0.0005 * 50 / 90, 1e-9);
  // p99: the 9th of 10 in (100 ms, 250 ms].
  EXPECT_NEAR(t.quantile_seconds(0.99), 0.1 + 0.15 * 9 / 10, 1e-9);
}

TEST(LatencyHistogram, EmptyAndOverflowingHistograms) {
  HistogramTotals empty;
  EXPECT_EQ(empty.count(), 0u);
  EXPECT_EQ(empty.quantile_seconds(0.99), 0.0);
  EXPECT_EQ(empty.mean_seconds(), 0.0);

  HistogramCells slow;
  slow.observe(std::chrono::seconds(45));
  HistogramTotals t;
  t.add(slow);
  EXPECT_EQ(t.buckets.back(), 1u);
  EXPECT_DOUBLE_EQ(t.quantile_seconds(0.5), 30.0);  // like histogram_quantile: the last finite bound
  slow.observe(microseconds(-5));  // a clock step never goes negative
  HistogramTotals t2;
  t2.add(slow);
  EXPECT_EQ(t2.buckets[0], 1u);
}

}  // namespace
}  // namespace lb::metrics
