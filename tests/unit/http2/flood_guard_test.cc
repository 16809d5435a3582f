#include "lb/http2/flood_guard.h"

#include <gtest/gtest.h>

namespace lb::http2 {
namespace {

TEST(Http2FloodGuard, BucketRefillsWithTimeAndWork) {
  TokenBucket b(3, 10);
  const TimePoint t0 = Clock::now();
  EXPECT_TRUE(b.take(t0));
  EXPECT_TRUE(b.take(t0));
  EXPECT_TRUE(b.take(t0));
  EXPECT_FALSE(b.take(t0));
  EXPECT_TRUE(b.take(t0 + std::chrono::milliseconds(100)));  // 10/s: one back after 100 ms
  EXPECT_FALSE(b.take(t0 + std::chrono::milliseconds(100)));
  b.credit(100);
  EXPECT_EQ(b.tokens(), 3);  // capped at the burst
}

TEST(Http2FloodGuard, EarlyResetBurstFollowsConcurrency) {
  FloodGuard g(300);
  const TimePoint t = Clock::now();
  int taken = 0;
  while (g.early_reset(t) && taken < 10000) ++taken;
  EXPECT_EQ(taken, 600);
}

TEST(Http2FloodGuard, DataSentEarnsControlFrames) {
  FloodGuard g(100);
  const TimePoint t = Clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(g.control_frame(t));
  EXPECT_FALSE(g.control_frame(t));
  g.data_frame_sent();
  EXPECT_TRUE(g.control_frame(t));
  EXPECT_TRUE(g.control_frame(t));
  EXPECT_FALSE(g.control_frame(t));
}

TEST(Http2FloodGuard, ContinuationLimitGrowsWithTheHeaderLimit) {
  EXPECT_EQ(continuation_limit(4096), 8u);
  EXPECT_EQ(continuation_limit(256 * 1024), 34u);
}

}  // namespace
}  // namespace lb::http2
