#include "lb/admin/status_rates.h"

#include <gtest/gtest.h>

namespace lb::admin {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(StatusRates, RateSinceThePreviousSample) {
  StatusRates r;
  const TimePoint t0 = Clock::now();
  EXPECT_EQ(r.rate("a", 100, t0), std::nullopt);  // first look: nothing to compare with
  ASSERT_TRUE(r.rate("a", 150, t0 + seconds(5)).has_value());
  EXPECT_DOUBLE_EQ(*r.rate("a", 190, t0 + seconds(7)), 20.0);
}

TEST(StatusRates, AQuickReloadShowsThePreviousRate) {
  StatusRates r;
  const TimePoint t0 = Clock::now();
  r.rate("a", 0, t0);
  EXPECT_DOUBLE_EQ(*r.rate("a", 50, t0 + seconds(5)), 10.0);
  // 200 ms later: too short to measure; the sample is kept.
  EXPECT_DOUBLE_EQ(*r.rate("a", 52, t0 + seconds(5) + milliseconds(200)), 10.0);
  EXPECT_DOUBLE_EQ(*r.rate("a", 80, t0 + seconds(7)), 15.0);
}

TEST(StatusRates, ACounterThatWentBackwardsStartsOver) {
  StatusRates r;
  const TimePoint t0 = Clock::now();
  r.rate("a", 500, t0);
  EXPECT_EQ(r.rate("a", 3, t0 + seconds(5)), std::nullopt);
  EXPECT_DOUBLE_EQ(*r.rate("a", 13, t0 + seconds(10)), 2.0);
}

TEST(StatusRates, KeysAreIndependentAndIdleOnesArePruned) {
  StatusRates r;
  const TimePoint t0 = Clock::now();
  r.rate("a", 0, t0);
  r.rate("b", 0, t0);
  EXPECT_DOUBLE_EQ(*r.rate("a", 10, t0 + seconds(10)), 1.0);
  r.prune(t0 + seconds(10), seconds(5));
  EXPECT_EQ(r.size(), 1u);  // b was not asked for since t0
  EXPECT_EQ(r.rate("b", 10, t0 + seconds(11)), std::nullopt);
}

}  // namespace
}  // namespace lb::admin
