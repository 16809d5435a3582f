#include "lb/health/passive_check.h"

#include <gtest/gtest.h>

namespace lb::health {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<balance::Backend> make_backend(const std::string& name, uint16_t port) {
  return std::make_shared<balance::Backend>(name, config::Address{"127.0.0.1", port, "127.0.0.1:" + std::to_string(port)},
                                            1);
}

struct PassiveCheckTest : ::testing::Test {
  // Two members: ejecting one is within the default 50% cap.
  balance::BackendList members{make_backend("a", 9000), make_backend("b", 9001)};
  balance::Backend& backend = *members[0];
  config::PoolConfig pool;
  TimePoint t0 = Clock::now();

  bool record_failure(balance::Backend& b, const config::PoolConfig& p, TimePoint now, std::string_view what) {
    return health::record_failure(b, p, members, now, what);
  }

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

TEST_F(PassiveCheckTest, AOneBackendPoolIsNeverPassivelyEjected) {
  members.resize(1);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(record_failure(backend, pool, t0, "x"));
  EXPECT_TRUE(backend.usable_at(t0));
}

TEST_F(PassiveCheckTest, EjectionsStopAtMaxEjectedPercent) {
  members.push_back(make_backend("c", 9002));
  members.push_back(make_backend("d", 9003));
  // Four backends, 50%: two may be out, the third stays in however it fails.
  for (size_t i = 0; i < 4; ++i)
    for (int f = 0; f < 3; ++f) record_failure(*members[i], pool, t0, "x");
  EXPECT_FALSE(members[0]->usable_at(t0));
  EXPECT_FALSE(members[1]->usable_at(t0));
  EXPECT_TRUE(members[2]->usable_at(t0));
  EXPECT_TRUE(members[3]->usable_at(t0));
  // Once one is back, the next failure of a counted backend ejects it.
  members[0]->end_ejection(t0 + 1s);
  EXPECT_TRUE(record_failure(*members[2], pool, t0 + 2s, "x"));
  EXPECT_FALSE(members[2]->usable_at(t0 + 2s));
}

TEST_F(PassiveCheckTest, MaxEjectedPercentZeroTurnsEjectionOff) {
  pool.passive.max_ejected_percent = 0;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(record_failure(backend, pool, t0, "x"));
  EXPECT_TRUE(backend.usable_at(t0));
}

}  // namespace
}  // namespace lb::health
