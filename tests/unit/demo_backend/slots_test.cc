// The demo backend's model-server queue (tools/demo_backend/slots.h).
#include "slots.h"

#include <gtest/gtest.h>

#include <vector>

namespace demo {
namespace {

struct Waiter : SlotWaiter {
  int granted = 0;
  void slot_granted() override { ++granted; }
};

TEST(DemoSlots, GrantsUpToCapacityThenQueuesThenRefuses) {
  Slots slots(2, 1);
  Waiter a, b, c, d;
  EXPECT_EQ(slots.acquire_or_wait(&a), Slots::Admission::granted);
  EXPECT_EQ(slots.acquire_or_wait(&b), Slots::Admission::granted);
  EXPECT_EQ(slots.acquire_or_wait(&c), Slots::Admission::queued);
  EXPECT_EQ(slots.acquire_or_wait(&d), Slots::Admission::refused);
  EXPECT_EQ(slots.in_use(), 2u);
  EXPECT_EQ(slots.waiting(), 1u);
  EXPECT_EQ(slots.refused(), 1u);
}

TEST(DemoSlots, AReleasedSlotPassesToTheFirstWaiterInOrder) {
  Slots slots(1, 10);
  Waiter first, second, third;
  ASSERT_EQ(slots.acquire_or_wait(&first), Slots::Admission::granted);
  ASSERT_EQ(slots.acquire_or_wait(&second), Slots::Admission::queued);
  ASSERT_EQ(slots.acquire_or_wait(&third), Slots::Admission::queued);
  EXPECT_EQ(slots.release(), &second);
  EXPECT_EQ(slots.in_use(), 1u);  // the slot changed hands
  EXPECT_EQ(slots.waiting(), 1u);
  EXPECT_EQ(slots.release(), &third);
  EXPECT_EQ(slots.release(), nullptr);
  EXPECT_EQ(slots.in_use(), 0u);
  EXPECT_EQ(slots.peak_in_use(), 1u);
}

TEST(DemoSlots, NoRequestJumpsTheQueue) {
  Slots slots(1, 5);
  Waiter a, b;
  ASSERT_EQ(slots.acquire_or_wait(&a), Slots::Admission::granted);
  ASSERT_EQ(slots.acquire_or_wait(&b), Slots::Admission::queued);
  // A request that may not wait is refused while someone waits.
  EXPECT_FALSE(slots.try_acquire());
  EXPECT_EQ(slots.refused(), 1u);
}

TEST(DemoSlots, AWaiterThatLeavesLosesItsPlace) {
  Slots slots(1, 5);
  Waiter a, gone, next;
  ASSERT_EQ(slots.acquire_or_wait(&a), Slots::Admission::granted);
  ASSERT_EQ(slots.acquire_or_wait(&gone), Slots::Admission::queued);
  ASSERT_EQ(slots.acquire_or_wait(&next), Slots::Admission::queued);
  slots.cancel(&gone);
  slots.cancel(&gone);  // twice is harmless
  EXPECT_EQ(slots.waiting(), 1u);
  EXPECT_EQ(slots.release(), &next);
}

TEST(DemoSlots, CapacityZeroMeansNoLimitAndNoQueue) {
  Slots slots(0, 0);
  std::vector<Waiter> waiters(1000);
  for (auto& w : waiters) EXPECT_EQ(slots.acquire_or_wait(&w), Slots::Admission::granted);
  EXPECT_TRUE(slots.try_acquire());
  EXPECT_EQ(slots.in_use(), 1001u);
}

TEST(DemoSlots, WithoutAQueueAFullServerRefusesAtOnce) {
  Slots slots(1, 0);
  Waiter a, b;
  ASSERT_TRUE(slots.try_acquire());
  EXPECT_EQ(slots.acquire_or_wait(&a), Slots::Admission::refused);
  EXPECT_FALSE(slots.try_acquire());
  EXPECT_EQ(slots.release(), nullptr);
  EXPECT_EQ(slots.acquire_or_wait(&b), Slots::Admission::granted);
}

TEST(DemoSlots, TheQueueIsBoundedWhateverItIsAskedFor) {
  Slots slots(1, uint64_t{1} << 40);
  ASSERT_TRUE(slots.try_acquire());
  std::vector<Waiter> waiters(Slots::kMaxWaiting + 1);
  for (size_t i = 0; i < Slots::kMaxWaiting; ++i)
    ASSERT_EQ(slots.acquire_or_wait(&waiters[i]), Slots::Admission::queued);
  EXPECT_EQ(slots.acquire_or_wait(&waiters.back()), Slots::Admission::refused);
}

TEST(DemoSlots, AReleaseWithNothingHeldChangesNothing) {
  Slots slots(2, 2);
  EXPECT_EQ(slots.release(), nullptr);
  EXPECT_EQ(slots.in_use(), 0u);
}

}  // namespace
}  // namespace demo
