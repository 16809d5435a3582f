#include "lb/balance/round_robin.h"

#include <gtest/gtest.h>

#include "pool_fixture.h"

namespace lb::balance {
namespace {

using testing::make_backends;
using testing::pick_sequence;

TEST(BalanceRoundRobin, RotatesInListOrderIgnoringWeights) {
  RoundRobin rr(make_backends({5, 1, 1}));
  EXPECT_EQ(pick_sequence(rr, 7), "a b c a b c a");
}

TEST(BalanceRoundRobin, SkipsUnusableAndKeepsRotating) {
  auto backends = make_backends(4);
  backends[1]->set_healthy(false);
  RoundRobin rr(backends);
  EXPECT_EQ(pick_sequence(rr, 6), "a c d a c d");
  backends[1]->set_healthy(true);
  EXPECT_EQ(pick_sequence(rr, 4), "a b c d");
}

TEST(BalanceRoundRobin, TriedBackendIsSkippedOnRetry) {
  RoundRobin rr(make_backends(3));
  BackendSet tried;
  tried.insert(0);
  tried.insert(1);
  EXPECT_EQ(pick_sequence(rr, 3, {.tried = &tried}), "c c c");
}

}  // namespace
}  // namespace lb::balance
