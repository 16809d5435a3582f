#include "lb/health/health_state.h"

#include <gtest/gtest.h>

#include <string>

namespace lb::health {
namespace {

using Change = HealthState::Change;

// Feeds "+" (pass) / "-" (fail) and returns "u"/"d" after each result.
std::string run(HealthState& s, std::string_view results) {
  std::string out;
  for (char c : results) {
    s.record(c == '+');
    out += s.up() ? 'u' : 'd';
  }
  return out;
}

TEST(HealthState, StartsUpAndAFirstFailureTakesItDown) {
  // HAProxy's default init-state: assumed up, but not yet proven.
  HealthState s(2, 3);
  EXPECT_TRUE(s.up());
  EXPECT_EQ(s.record(false), Change::went_down);
  EXPECT_FALSE(s.up());
}

TEST(HealthState, CanStartDown) {
  HealthState s(2, 3, false);
  EXPECT_FALSE(s.up());
  EXPECT_EQ(run(s, "++"), "du");
}

TEST(HealthState, NeedsFallFailuresInARowOnceFullyUp) {
  HealthState s(2, 3);
  run(s, "+++");  // counter at the top: rise + fall - 1
  EXPECT_EQ(s.health(), 4);
  EXPECT_EQ(run(s, "--"), "uu");
  EXPECT_EQ(s.record(false), Change::went_down);
}

TEST(HealthState, NeedsRisePassesInARowToComeUp) {
  HealthState s(3, 2, false);
  EXPECT_EQ(run(s, "++-"), "ddd");  // a failure starts the climb again
  EXPECT_EQ(run(s, "++"), "dd");
  EXPECT_EQ(s.record(true), Change::went_up);
}

TEST(HealthState, APassBetweenFailuresBuysBackOneStep) {
  HealthState s(2, 3);
  run(s, "+++");
  // Alternating results never reach `fall` failures in a row from the top.
  EXPECT_EQ(run(s, "-+-+-+-+"), "uuuuuuuu");
}

TEST(HealthState, JustRecoveredGoesDownOnTheNextFailure) {
  HealthState s(2, 3, false);
  EXPECT_EQ(run(s, "++-"), "dud");
}

TEST(HealthState, ReportsEachTransitionOnce) {
  HealthState s(1, 1, false);
  EXPECT_EQ(s.record(true), Change::went_up);
  EXPECT_EQ(s.record(true), Change::none);
  EXPECT_EQ(s.record(false), Change::went_down);
  EXPECT_EQ(s.record(false), Change::none);
}

TEST(HealthState, ReconfigureKeepsUpOrDown) {
  HealthState up(2, 3);
  run(up, "+++");
  up.reconfigure(5, 2);
  EXPECT_TRUE(up.up());
  EXPECT_EQ(up.health(), up.top());  // was fully up: still fully up
  EXPECT_EQ(run(up, "-"), "u");
  EXPECT_EQ(run(up, "-"), "d");

  HealthState down(2, 3, false);
  run(down, "+");
  down.reconfigure(1, 1);
  EXPECT_FALSE(down.up());
  EXPECT_EQ(run(down, "+"), "u");
}

TEST(HealthState, ThresholdsBelowOneCountAsOne) {
  HealthState s(0, 0);
  EXPECT_EQ(s.rise(), 1);
  EXPECT_EQ(s.fall(), 1);
  EXPECT_EQ(run(s, "-+-"), "dud");
}

}  // namespace
}  // namespace lb::health
