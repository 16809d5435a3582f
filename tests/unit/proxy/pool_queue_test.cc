#include "lb/proxy/pool_queue.h"

#include <gtest/gtest.h>

namespace lb::proxy {
namespace {

TEST(PoolQueue, TicketsAreHandedOutInOrderUpToMax) {
  PoolQueue q;
  const uint64_t a = q.try_join(2);
  const uint64_t b = q.try_join(2);
  EXPECT_LT(a, b);
  EXPECT_EQ(q.try_join(2), PoolQueue::kNoTicket);  // full
  EXPECT_EQ(q.length(), 2u);
  q.left();
  EXPECT_GT(q.try_join(2), b);
  EXPECT_EQ(q.try_join(0), PoolQueue::kNoTicket);  // max 0: never waits
}

TEST(PoolQueue, OldestElsewhereSkipsTheAskingWorker) {
  PoolQueue q;
  q.publish(0, 5, 0);
  q.publish(1, 7, 0);
  q.publish(2, 6, 1);
  EXPECT_EQ(q.oldest_elsewhere(0), std::make_pair(2u, uint64_t{6}));
  EXPECT_EQ(q.oldest_elsewhere(1), std::make_pair(0u, uint64_t{5}));
  q.publish(0, PoolQueue::kNoTicket, 0);
  q.publish(2, PoolQueue::kNoTicket, 0);
  EXPECT_EQ(q.oldest_elsewhere(1).second, PoolQueue::kNoTicket);
}

TEST(PoolQueue, OldestElsewhereLooksOnlyAtTheRunningWorkers) {
  PoolQueue q;
  q.publish(1, 9, 0);
  q.publish(3, 4, 0);  // not among the first 3
  EXPECT_EQ(q.oldest_elsewhere(0, 3), std::make_pair(1u, uint64_t{9}));
  EXPECT_EQ(q.oldest_elsewhere(0, 4), std::make_pair(3u, uint64_t{4}));
}

}  // namespace
}  // namespace lb::proxy
