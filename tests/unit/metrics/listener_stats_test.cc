#include "lb/metrics/listener_stats.h"

#include <gtest/gtest.h>

#include "lb/metrics/pool_stats.h"

namespace lb::metrics {
namespace {

using std::chrono::microseconds;

TEST(ListenerStats, RequestsConnectionsAndUntimedAnswers) {
  ListenerStats s;
  s.count_connection(0);
  s.count_connection(1);
  s.count_request(0, 200, microseconds(700));
  s.count_request(1, 400, std::nullopt);  // answered before a head arrived
  s.count_request(1, 502, microseconds(40'000));
  const ListenerTotals t = s.totals();
  EXPECT_EQ(t.connections, 2u);
  EXPECT_EQ(t.requests, (std::array<uint64_t, 5>{0, 1, 0, 1, 1}));
  EXPECT_EQ(t.request_count(), 3u);
  EXPECT_EQ(t.duration.count(), 2u);
}

TEST(PoolStats, RetriesAndNoBackendPerWorker) {
  PoolStats s;
  s.count_retry(0);
  s.count_retry(1);
  s.count_retry(1);
  s.count_no_backend(7);
  EXPECT_EQ(s.totals().retries, 3u);
  EXPECT_EQ(s.totals().no_backend, 1u);
}

}  // namespace
}  // namespace lb::metrics
