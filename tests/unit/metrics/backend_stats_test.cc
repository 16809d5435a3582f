#include "lb/metrics/backend_stats.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace lb::metrics {
namespace {

using std::chrono::microseconds;

TEST(BackendStats, CountsByStatusClassAcrossWorkers) {
  BackendStats s;
  s.count_response(0, 200);
  s.count_response(1, 204);
  s.count_response(3, 301);
  s.count_response(0, 404);
  s.count_response(1, 503);
  s.count_failure(2);
  s.count_response(0, 103);
  const BackendTotals t = s.totals();
  EXPECT_EQ(t.responses, (std::array<uint64_t, 5>{1, 2, 1, 1, 2}));
  EXPECT_EQ(t.requests(), 7u);
  EXPECT_EQ(t.errors(), 2u);
}

TEST(BackendStats, ResponseTimesSumOverWorkers) {
  BackendStats s;
  s.observe_response_time(0, microseconds(300));
  s.observe_response_time(5, microseconds(2'000'000));
  const BackendTotals t = s.totals();
  EXPECT_EQ(t.response_time.count(), 2u);
  EXPECT_EQ(t.response_time.buckets[0], 1u);
  EXPECT_EQ(t.response_time.buckets[latency_bucket(2'000'000)], 1u);
  EXPECT_DOUBLE_EQ(t.response_time.sum_seconds(), 2.0003);
}

TEST(BackendStats, NothingRecordedReadsAsZero) {
  const BackendStats s;
  const BackendTotals t = s.totals();
  EXPECT_EQ(t.requests(), 0u);
  EXPECT_EQ(t.response_time.count(), 0u);
}

// Each worker writes only its own slot while a reader sums: totals never go
// backwards and end exact. (Run under the asan preset; the relaxed
// load/store pairs are what TSan would check.)
TEST(BackendStats, SingleWriterSlotsWithAConcurrentReader) {
  BackendStats s;
  constexpr int kWorkers = 4, kPerWorker = 200'000;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done.load()) {
      const uint64_t now = s.totals().requests();
      ASSERT_GE(now, last);
      last = now;
    }
  });
  std::vector<std::thread> writers;
  for (unsigned w = 0; w < kWorkers; ++w)
    writers.emplace_back([&s, w] {
      for (int i = 0; i < kPerWorker; ++i) {
        s.count_response(w, 200);
        s.observe_response_time(w, microseconds(i % 5000));
      }
    });
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  const BackendTotals t = s.totals();
  EXPECT_EQ(t.responses[1], uint64_t(kWorkers) * kPerWorker);
  EXPECT_EQ(t.response_time.count(), uint64_t(kWorkers) * kPerWorker);
}

}  // namespace
}  // namespace lb::metrics
