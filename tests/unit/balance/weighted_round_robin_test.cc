#include "lb/balance/weighted_round_robin.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "lb/balance/smooth_cycle.h"
#include "lb/balance/smooth_weights.h"

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

// The precomputed period must be nginx's order itself, whatever the
// weights: compared with SmoothWeights (the round-by-round walk the unit
// tests above pin to nginx) over two periods, for random weight sets.
TEST(BalanceSmoothCycle, PeriodIsTheRoundByRoundOrder) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint64_t> weights(1 + rng() % 12);
    for (auto& w : weights) w = rng() % 4 == 0 ? 0 : (1 + rng() % 9) * kWeightScale;
    const std::vector<uint32_t> period = SmoothCycle::period(weights);
    uint64_t total = 0;
    for (uint64_t w : weights) total += w;
    if (total == 0) {
      EXPECT_TRUE(period.empty());
      continue;
    }
    ASSERT_FALSE(period.empty());
    SmoothWeights walk(weights.size());
    for (size_t round = 0; round < 2 * period.size(); ++round)
      ASSERT_EQ(walk.next([&](size_t i) { return int64_t(weights[i]); }), period[round % period.size()])
          << "trial " << trial << " round " << round;
  }
}

TEST(BalanceSmoothCycle, PeriodIsTheSumOfReducedWeights) {
  EXPECT_EQ(SmoothCycle::period({5, 1, 1}).size(), 7u);
  EXPECT_EQ(SmoothCycle::period({4096, 2048, 0, 6144}).size(), 6u);  // divided by 2048
  EXPECT_TRUE(SmoothCycle::period({0, 0}).empty());
  EXPECT_TRUE(SmoothCycle::period({SmoothCycle::kMaxSlots, 1}).empty());  // too long: walked instead
}

TEST(BalanceWeightedRoundRobin, ABackendTakenOutGetsNothingAndItsShareReturnsWithIt) {
  auto backends = make_backends({3, 2, 1});
  WeightedRoundRobin wrr(backends);
  EXPECT_EQ(pick_sequence(wrr, 6), "a b a c b a");
  backends[1]->set_healthy(false);
  EXPECT_EQ(pick_sequence(wrr, 8), "a a c a a a c a");
  backends[1]->set_healthy(true);
  EXPECT_EQ(pick_sequence(wrr, 6), "a b a c b a");
}

TEST(BalanceWeightedRoundRobin, AWeightChangedAtRunTimeTakesEffect) {
  auto backends = make_backends({1, 1});
  WeightedRoundRobin wrr(backends);
  EXPECT_EQ(pick_sequence(wrr, 4), "a b a b");
  backends[1]->set_weight(3);  // an SRV record's new weight
  const auto counts = count_picks(wrr, 400);
  EXPECT_EQ(counts.at("a"), 100);
  EXPECT_EQ(counts.at("b"), 300);
}

// No setter runs when a passive ejection ends: the cycle must notice the
// time itself.
TEST(BalanceWeightedRoundRobin, AnEjectionThatRunsOutBringsTheBackendBack) {
  auto backends = make_backends({1, 1});
  WeightedRoundRobin wrr(backends);
  backends[0]->eject_until(Clock::now() + std::chrono::milliseconds(300));
  EXPECT_EQ(pick_sequence(wrr, 4), "b b b b");
  std::this_thread::sleep_for(std::chrono::milliseconds(320));
  EXPECT_EQ(count_picks(wrr, 10).at("a"), 5);
}

// Backend::state_epoch() is one for the process: a change in another pool
// must neither restart this pool's order (its first backends would take
// the picks made between changes) nor cost it a new period.
TEST(BalanceWeightedRoundRobin, AChangeInAnotherPoolKeepsTheOrderWhereItWas) {
  WeightedRoundRobin wrr(make_backends({1, 1, 1, 1}));
  auto elsewhere = testing::make_backend("elsewhere");
  std::string seen;
  for (int i = 0; i < 8; ++i) {
    seen += (i ? " " : "") + testing::name_of(wrr.pick({}));
    elsewhere->set_healthy(i % 2 == 0);
  }
  EXPECT_EQ(seen, "a b c d a b c d");
}

// When this pool changes, the new period is read on from the old place.
TEST(BalanceWeightedRoundRobin, AChangeInThePoolDoesNotRestartTheOrder) {
  auto backends = make_backends({1, 1, 1, 1, 1});
  WeightedRoundRobin wrr(backends);
  EXPECT_EQ(pick_sequence(wrr, 3), "a b c");
  backends[0]->set_healthy(false);
  EXPECT_EQ(pick_sequence(wrr, 4), "e b c d");  // slot 3 of b c d e
}

TEST(BalanceWeightedRoundRobin, AFullBackendIsPassedOverAndTheOthersKeepTheirOrder) {
  auto backends = make_backends({2, 1, 1});
  backends[0]->set_max_requests(1);
  backends[0]->add_active(1);
  WeightedRoundRobin wrr(backends);
  PickContext ctx;
  ctx.need_room = true;
  const auto counts = count_picks(wrr, 100, ctx);
  EXPECT_EQ(counts.count("a"), 0u);
  EXPECT_EQ(counts.at("b"), 50);
  EXPECT_EQ(counts.at("c"), 50);
}

TEST(BalanceWeightedRoundRobin, ARetryNeverLandsOnTheTriedBackend) {
  auto backends = make_backends({5, 1});
  WeightedRoundRobin wrr(backends);
  BackendSet tried;
  tried.insert(0);
  PickContext ctx;
  ctx.tried = &tried;
  EXPECT_EQ(pick_sequence(wrr, 20, ctx), "b b b b b b b b b b b b b b b b b b b b");
  tried.insert(1);
  EXPECT_EQ(pick_sequence(wrr, 2, ctx), "(none) (none)");
}

// While a backend ramps up its weight moves with time; the picks still
// follow the ramped weights (the walk, not a stale cycle).
TEST(BalanceWeightedRoundRobin, SlowStartRampsTheShare) {
  auto backends = make_backends({1, 1});
  backends[0]->set_slow_start(std::chrono::seconds(100));
  backends[0]->mark_recovered(Clock::now() - std::chrono::seconds(25));  // a quarter of full weight
  WeightedRoundRobin wrr(backends);
  const auto counts = count_picks(wrr, 1000);
  EXPECT_NEAR(counts.at("a"), 200, 10);  // 0.25 / 1.25
}

TEST(BalanceWeightedRoundRobin, AThousandBackendsShareByWeight) {
  std::vector<uint32_t> weights;
  for (int i = 0; i < 1000; ++i) weights.push_back(uint32_t(i % 4 + 1));
  WeightedRoundRobin wrr(make_backends(weights));
  const auto counts = count_picks(wrr, 2 * 2500);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(counts.at(testing::backend_name(size_t(i))), 2 * (i % 4 + 1)) << i;
}

}  // namespace
}  // namespace lb::balance
