#include "lb/balance/peak_ewma.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lb::balance {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(BalancePeakEwma, SampleAboveTheEstimateReplacesItAtOnce) {
  EXPECT_DOUBLE_EQ(peak_ewma::observe(1000, 50000, milliseconds(1)), 50000);
  EXPECT_DOUBLE_EQ(peak_ewma::observe(0, 700, seconds(0)), 700);
}

TEST(BalancePeakEwma, SampleBelowBlendsByElapsedTime) {
  // After one time constant the old estimate keeps 1/e of its weight.
  const double expected = 1000 * std::exp(-1.0) + 100 * (1 - std::exp(-1.0));
  EXPECT_NEAR(peak_ewma::observe(1000, 100, peak_ewma::kDecay), expected, 1e-6);
  EXPECT_DOUBLE_EQ(peak_ewma::observe(1000, 100, seconds(0)), 1000);
}

// Recovery speed depends on time, not on how many requests happened.
TEST(BalancePeakEwma, ManySmallStepsEqualOneLongStep) {
  double many = 1000;
  for (int i = 0; i < 1000; ++i) many = peak_ewma::observe(many, 100, peak_ewma::kDecay / 1000);
  const double one = peak_ewma::observe(1000, 100, peak_ewma::kDecay);
  EXPECT_NEAR(many, one, 1.0);
}

TEST(BalancePeakEwma, EstimateDecaysWhileIdle) {
  EXPECT_NEAR(peak_ewma::decayed(1000, peak_ewma::kDecay), 1000 * std::exp(-1.0), 1e-6);
  EXPECT_DOUBLE_EQ(peak_ewma::decayed(1000, seconds(0)), 1000);
  EXPECT_DOUBLE_EQ(peak_ewma::decayed(1000, milliseconds(-5)), 1000) << "a clock step back must not amplify";
}

}  // namespace
}  // namespace lb::balance
