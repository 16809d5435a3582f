#include "lb/control/memory_trimmer.h"

#include <gtest/gtest.h>

namespace lb::control {
namespace {

constexpr size_t kMiB = 1u << 20;

TEST(MemoryTrimmer, TrimsOnceWhenABurstLeavesMemoryFree) {
  size_t baseline = 0;
  EXPECT_FALSE(should_trim(2 * kMiB, 8 * kMiB, &baseline)) << "steady churn";
  EXPECT_TRUE(should_trim(24 * kMiB, 8 * kMiB, &baseline)) << "a burst ended";
  // The trimmed pages still count as free: no trim again for the same memory.
  EXPECT_FALSE(should_trim(24 * kMiB, 8 * kMiB, &baseline));
  EXPECT_FALSE(should_trim(30 * kMiB, 8 * kMiB, &baseline));
}

TEST(MemoryTrimmer, ReusedMemoryLowersTheBaseline) {
  size_t baseline = 0;
  EXPECT_TRUE(should_trim(24 * kMiB, 8 * kMiB, &baseline));
  // Load takes the free memory again, then a second burst ends.
  EXPECT_FALSE(should_trim(3 * kMiB, 8 * kMiB, &baseline));
  EXPECT_FALSE(should_trim(10 * kMiB, 8 * kMiB, &baseline));
  EXPECT_TRUE(should_trim(20 * kMiB, 8 * kMiB, &baseline));
}

}  // namespace
}  // namespace lb::control
