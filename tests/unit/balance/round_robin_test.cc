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

TEST(BalanceRoundRobin, AFullBackendIsSkippedWhenRoomIsAskedFor) {
  auto backends = make_backends(3);
  backends[1]->set_max_requests(1);
  ASSERT_TRUE(backends[1]->try_acquire_slot());
  RoundRobin rr(backends);
  EXPECT_EQ(pick_sequence(rr, 4, {.need_room = true}), "a c a c");
  EXPECT_EQ(pick_sequence(rr, 3), "a b c");  // without need_room: its place in the rotation
  backends[1]->release_slot();
  EXPECT_EQ(pick_sequence(rr, 3, {.need_room = true}), "a b c");
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
