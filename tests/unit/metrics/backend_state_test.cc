#include "lb/metrics/backend_state.h"

#include <gtest/gtest.h>

namespace lb::metrics {
namespace {

balance::Backend make() { return balance::Backend("b1", {"127.0.0.1", 9001, "127.0.0.1:9001"}, 1); }

TEST(BackendState, HealthyReadyBackendIsUp) {
  auto b = make();
  const TimePoint now = Clock::now();
  EXPECT_EQ(backend_state(b, now), BackendState::up);
  EXPECT_TRUE(backend_up(b, now));
}

TEST(BackendState, UnhealthyIsDownAndNotUp) {
  auto b = make();
  b.set_healthy(false);
  EXPECT_EQ(backend_state(b, Clock::now()), BackendState::down);
  EXPECT_FALSE(backend_up(b, Clock::now()));
}

TEST(BackendState, PassiveEjectionLastsUntilItsDeadline) {
  auto b = make();
  const TimePoint now = Clock::now();
  b.eject_until(now + std::chrono::seconds(10));
  EXPECT_EQ(backend_state(b, now), BackendState::ejected);
  EXPECT_FALSE(backend_up(b, now));
  EXPECT_EQ(backend_state(b, now + std::chrono::seconds(11)), BackendState::up);
  EXPECT_TRUE(backend_up(b, now + std::chrono::seconds(11)));
}

TEST(BackendState, MaintWinsOverHealthAndDrainingShowsOnlyWhileHealthy) {
  auto b = make();
  b.set_healthy(false);
  b.set_admin_state(balance::AdminState::maint);
  EXPECT_EQ(backend_state(b, Clock::now()), BackendState::maint);
  // A draining backend that fails its checks keeps no pinned users either:
  // the operator needs to see "down".
  b.set_admin_state(balance::AdminState::draining);
  EXPECT_EQ(backend_state(b, Clock::now()), BackendState::down);
  b.set_healthy(true);
  EXPECT_EQ(backend_state(b, Clock::now()), BackendState::draining);
  // lbd_backend_up is about health: a draining healthy backend is up.
  EXPECT_TRUE(backend_up(b, Clock::now()));
}

TEST(BackendState, NamesAreTheMetricLabelValues) {
  std::vector<std::string_view> names;
  for (BackendState s : kAllBackendStates) names.push_back(state_name(s));
  EXPECT_EQ(names, (std::vector<std::string_view>{"up", "down", "draining", "maint", "ejected"}));
}

}  // namespace
}  // namespace lb::metrics
