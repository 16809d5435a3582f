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

// p2c compares two estimates through the ratio of their decays.
TEST(BalancePeakEwma, DecayRatioIsTheRatioOfTwoDecays) {
  for (auto [idle, other] : {std::pair{milliseconds(100), milliseconds(2500)}, {seconds(7), milliseconds(20)},
                             {seconds(1), seconds(1)}, {milliseconds(-5), seconds(3)}}) {
    const double expected = peak_ewma::decayed(1000, idle) / peak_ewma::decayed(1000, other);
    EXPECT_NEAR(peak_ewma::decay_ratio(idle, other), expected, expected * 1e-12) << idle.count() << " vs " << other.count();
  }
  // Backends sampled moments apart (the series, not std::exp): as exact,
  // on both sides of the switch.
  for (auto [idle, other] : {std::pair{milliseconds(3), milliseconds(40)}, {milliseconds(95), milliseconds(1)},
                             {milliseconds(0), milliseconds(93)}, {milliseconds(0), milliseconds(94)}}) {
    const double expected = peak_ewma::decayed(1000, idle) / peak_ewma::decayed(1000, other);
    EXPECT_NEAR(peak_ewma::decay_ratio(idle, other), expected, expected * 1e-9) << idle.count() << " vs " << other.count();
  }
  // An estimate left idle for hours has decayed to nothing beside a fresh one.
  EXPECT_EQ(peak_ewma::decay_ratio(std::chrono::hours(3), seconds(0)), 0.0);
}

}  // namespace
}  // namespace lb::balance
