#include "lb/balance/factory.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <set>

#include "pool_fixture.h"

namespace lb::balance {
namespace {

using StrategyName = config::Strategy;
using testing::make_backends;

constexpr StrategyName kAll[] = {StrategyName::round_robin,     StrategyName::weighted_round_robin,
                                 StrategyName::least_connections, StrategyName::ip_hash,
                                 StrategyName::consistent_hash, StrategyName::p2c_ewma};

class BalanceEveryStrategy : public ::testing::TestWithParam<StrategyName> {
 protected:
  std::unique_ptr<balance::Strategy> make(const BackendList& backends, double bounded_load = 0) {
    config::PoolConfig pool;
    pool.strategy = GetParam();
    pool.bounded_load = bounded_load;
    auto s = make_strategy(pool, backends);
    EXPECT_NE(s, nullptr);
    return s;
  }

  // Names picked over many requests, with and without a hash key.
  static std::set<std::string> picked(balance::Strategy& s, const BackendSet* tried = nullptr) {
    std::set<std::string> names;
    for (int i = 0; i < 200; ++i) {
      names.insert(testing::name_of(s.pick({.hash = XXH3_64bits(&i, sizeof i), .tried = tried})));
      names.insert(testing::name_of(s.pick({.tried = tried})));
    }
    return names;
  }
};

TEST_P(BalanceEveryStrategy, IsBuiltAndNamed) {
  config::PoolConfig pool;
  pool.strategy = GetParam();
  EXPECT_NE(make_strategy(pool, {}), nullptr);
  EXPECT_STRNE(strategy_name(GetParam()), "?");
}

TEST_P(BalanceEveryStrategy, UsesEveryUsableBackend) {
  auto s = make(make_backends(4));
  EXPECT_EQ(picked(*s), (std::set<std::string>{"a", "b", "c", "d"}));
}

TEST_P(BalanceEveryStrategy, NeverPicksATriedBackend) {
  auto s = make(make_backends(4));
  BackendSet tried;
  tried.insert(0);
  tried.insert(2);
  EXPECT_EQ(picked(*s, &tried), (std::set<std::string>{"b", "d"}));
}

TEST_P(BalanceEveryStrategy, NeverPicksAnUnusableBackend) {
  auto backends = make_backends(5);
  backends[0]->set_healthy(false);
  backends[1]->set_admin_state(AdminState::draining);
  backends[2]->set_admin_state(AdminState::maint);
  backends[3]->eject_until(Clock::now() + std::chrono::hours(1));
  auto s = make(backends);
  EXPECT_EQ(picked(*s), (std::set<std::string>{"e"}));
}

TEST_P(BalanceEveryStrategy, NothingLeftMeansNullptr) {
  auto backends = make_backends(3);
  auto s = make(backends);
  BackendSet all;
  for (size_t i = 0; i < backends.size(); ++i) all.insert(i);
  EXPECT_EQ(picked(*s, &all), (std::set<std::string>{"(none)"}));

  backends[0]->set_healthy(false);
  backends[1]->set_admin_state(AdminState::maint);
  backends[2]->eject_until(Clock::now() + std::chrono::hours(1));
  EXPECT_EQ(picked(*s), (std::set<std::string>{"(none)"}));
}

TEST_P(BalanceEveryStrategy, EmptyPoolMeansNullptr) {
  auto s = make({});
  EXPECT_EQ(picked(*s), (std::set<std::string>{"(none)"}));
}

TEST_P(BalanceEveryStrategy, RecoveredBackendIsUsedAgain) {
  auto backends = make_backends(2);
  backends[1]->set_healthy(false);
  auto s = make(backends);
  EXPECT_EQ(picked(*s), (std::set<std::string>{"a"}));
  backends[1]->set_healthy(true);
  EXPECT_EQ(picked(*s), (std::set<std::string>{"a", "b"}));
}

TEST_P(BalanceEveryStrategy, TriedSetBeyond64Backends) {
  auto backends = make_backends(70);
  auto s = make(backends);
  BackendSet tried;
  for (size_t i = 0; i < backends.size(); ++i)
    if (i != 66) tried.insert(i);
  EXPECT_EQ(picked(*s, &tried), (std::set<std::string>{"n66"}));
}

TEST_P(BalanceEveryStrategy, BoundedLoadSettingIsHarmless) {
  auto s = make(make_backends(3), 1.25);
  EXPECT_EQ(picked(*s).size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(, BalanceEveryStrategy, ::testing::ValuesIn(kAll),
                         [](const auto& info) { return std::string(strategy_name(info.param)); });

}  // namespace
}  // namespace lb::balance
