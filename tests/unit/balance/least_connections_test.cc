#include "lb/balance/least_connections.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "pool_fixture.h"

namespace lb::balance {
namespace {

using testing::count_picks;
using testing::make_backends;
using testing::pick_sequence;

TEST(BalanceLeastConnections, PrefersTheLessLoaded) {
  auto backends = make_backends(3);
  backends[0]->add_active(5);
  backends[1]->add_active(2);
  backends[2]->add_active(4);
  LeastConnections lc(backends);
  EXPECT_EQ(pick_sequence(lc, 3), "b b b");
}

TEST(BalanceLeastConnections, LoadIsPerUnitOfWeight) {
  auto backends = make_backends({4, 1});
  backends[0]->add_active(6);  // 1.5 per unit of weight
  backends[1]->add_active(2);  // 2 per unit
  LeastConnections lc(backends);
  EXPECT_EQ(pick_sequence(lc, 2), "a a");
}

TEST(BalanceLeastConnections, EqualBackendsAlternate) {
  LeastConnections lc(make_backends(3));
  EXPECT_EQ(pick_sequence(lc, 6), "a b c a b c");
}

TEST(BalanceLeastConnections, IdleTiesStillFollowWeights) {
  LeastConnections lc(make_backends({3, 1}));
  const auto counts = count_picks(lc, 400);
  EXPECT_EQ(counts.at("a"), 300);
  EXPECT_EQ(counts.at("b"), 100);
}

// Requests held in flight: the in-flight counts converge on the weights.
TEST(BalanceLeastConnections, InFlightLoadFollowsWeights) {
  auto backends = make_backends({1, 2, 3});
  LeastConnections lc(backends);
  for (int i = 0; i < 600; ++i) lc.pick({})->add_active(1);
  EXPECT_EQ(backends[0]->active_requests(), 100);
  EXPECT_EQ(backends[1]->active_requests(), 200);
  EXPECT_EQ(backends[2]->active_requests(), 300);
}

// One backend answers 10x slower, so its requests stay in flight 10x longer:
// it must end up with clearly fewer requests.
TEST(BalanceLeastConnections, SlowBackendGetsLessTraffic) {
  auto backends = make_backends(3);
  LeastConnections lc(backends);
  struct InFlight { Backend* backend; int done_at; };
  std::vector<InFlight> in_flight;
  std::map<std::string, int> served;
  for (int tick = 0; tick < 10000; ++tick) {
    std::erase_if(in_flight, [&](const InFlight& r) {
      if (r.done_at > tick) return false;
      r.backend->add_active(-1);
      return true;
    });
    for (int burst = 0; burst < 3; ++burst) {
      Backend* b = lc.pick({});
      b->add_active(1);
      ++served[b->name()];
      in_flight.push_back({b, tick + (b == backends[2].get() ? 50 : 5)});
    }
  }
  EXPECT_LT(served["c"] * 4, served["a"]);
  EXPECT_LT(served["c"] * 4, served["b"]);
  EXPECT_NEAR(served["a"], served["b"], served["a"] / 20);
}

}  // namespace
}  // namespace lb::balance
