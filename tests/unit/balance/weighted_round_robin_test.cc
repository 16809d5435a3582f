#include "lb/balance/weighted_round_robin.h"

#include <gtest/gtest.h>

#include "pool_fixture.h"

namespace lb::balance {
namespace {

using testing::count_picks;
using testing::make_backends;
using testing::pick_sequence;

// The sequences nginx's ngx_http_upstream_get_peer produces.
TEST(BalanceWeightedRoundRobin, SmoothSequenceFor511MatchesNginx) {
  WeightedRoundRobin wrr(make_backends({5, 1, 1}));
  EXPECT_EQ(pick_sequence(wrr, 14), "a a b a c a a a a b a c a a");
}

TEST(BalanceWeightedRoundRobin, SmoothSequenceFor321MatchesNginx) {
  WeightedRoundRobin wrr(make_backends({3, 2, 1}));
  EXPECT_EQ(pick_sequence(wrr, 12), "a b a c b a a b a c b a");
}

TEST(BalanceWeightedRoundRobin, EqualWeightsRotate) {
  WeightedRoundRobin wrr(make_backends({2, 2, 2}));
  EXPECT_EQ(pick_sequence(wrr, 6), "a b c a b c");
}

TEST(BalanceWeightedRoundRobin, ProportionsFollowWeights) {
  WeightedRoundRobin wrr(make_backends({7, 2, 1, 10}));
  const auto counts = count_picks(wrr, 20000);
  EXPECT_EQ(counts.at("a"), 7000);
  EXPECT_EQ(counts.at("b"), 2000);
  EXPECT_EQ(counts.at("c"), 1000);
  EXPECT_EQ(counts.at("d"), 10000);
}

TEST(BalanceWeightedRoundRobin, UnusableBackendsShareGoesToTheOthersInProportion) {
  auto backends = make_backends({3, 2, 1});
  backends[0]->set_admin_state(AdminState::maint);
  WeightedRoundRobin wrr(backends);
  EXPECT_EQ(pick_sequence(wrr, 6), "b c b b c b");
}

TEST(BalanceWeightedRoundRobin, WeightZeroGetsNothing) {
  WeightedRoundRobin wrr(make_backends({0, 1}));
  EXPECT_EQ(pick_sequence(wrr, 3), "b b b");
}

}  // namespace
}  // namespace lb::balance
