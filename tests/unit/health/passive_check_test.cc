#include "lb/health/passive_check.h"

#include <gtest/gtest.h>

namespace lb::health {
namespace {

using namespace std::chrono_literals;

struct PassiveCheckTest : ::testing::Test {
  balance::Backend backend{"a", config::Address{"127.0.0.1", 9000, "127.0.0.1:9000"}, 1};
  config::PoolConfig pool;
  TimePoint t0 = Clock::now();

  void SetUp() override {
    pool.passive.max_fails = 3;
    pool.passive.fail_timeout = 10s;
  }
};

TEST_F(PassiveCheckTest, MaxFailsWithinTheWindowEjectForFailTimeout) {
  EXPECT_FALSE(record_failure(backend, pool, t0, "connect_failed"));
  EXPECT_FALSE(record_failure(backend, pool, t0 + 1s, "closed_early"));
  EXPECT_TRUE(record_failure(backend, pool, t0 + 2s, "response_timeout"));
  EXPECT_EQ(backend.state_at(t0 + 2s), balance::BackendState::ejected);
  EXPECT_FALSE(backend.usable_at(t0 + 11s));
  EXPECT_TRUE(backend.usable_at(t0 + 12s));
  EXPECT_EQ(backend.passive_reason(), "3 failure(s) within 10000 ms, last: response_timeout");
  EXPECT_EQ(backend.active_reason(), "");  // kept apart from the active checker's
}

TEST_F(PassiveCheckTest, FailuresSpreadBeyondTheWindowDoNotEject) {
  EXPECT_FALSE(record_failure(backend, pool, t0, "x"));
  EXPECT_FALSE(record_failure(backend, pool, t0 + 1s, "x"));
  EXPECT_FALSE(record_failure(backend, pool, t0 + 11s, "x"));  // a new window starts
  EXPECT_TRUE(backend.usable_at(t0 + 11s));
}

TEST_F(PassiveCheckTest, ASuccessClearsTheCount) {
  record_failure(backend, pool, t0, "x");
  record_failure(backend, pool, t0, "x");
  record_success(backend);
  EXPECT_FALSE(record_failure(backend, pool, t0, "x"));
  EXPECT_TRUE(backend.usable_at(t0));
}

TEST_F(PassiveCheckTest, MaxFailsZeroNeverEjects) {
  pool.passive.max_fails = 0;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(record_failure(backend, pool, t0, "x"));
  EXPECT_TRUE(backend.usable_at(t0));
}

TEST_F(PassiveCheckTest, WithActiveChecksTheEjectionWaitsForAPassedCheck) {
  pool.health_check = config::HealthCheck{};
  for (int i = 0; i < 3; ++i) record_failure(backend, pool, t0, "x");
  EXPECT_TRUE(backend.awaiting_check());
  EXPECT_FALSE(backend.usable_at(t0 + 1h));  // time alone does not end it
  EXPECT_EQ(backend.ejection_earliest_end(), t0 + 10s);
  backend.end_ejection(t0 + 12s);
  EXPECT_FALSE(backend.awaiting_check());
  EXPECT_TRUE(backend.usable_at(t0 + 12s));
}

TEST_F(PassiveCheckTest, AnEjectedBackendIsNotEjectedAgainLonger) {
  for (int i = 0; i < 3; ++i) record_failure(backend, pool, t0, "x");
  EXPECT_FALSE(record_failure(backend, pool, t0 + 5s, "x"));
  EXPECT_TRUE(backend.usable_at(t0 + 10s));
}

}  // namespace
}  // namespace lb::health
