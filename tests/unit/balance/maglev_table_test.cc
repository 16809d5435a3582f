#include "lb/balance/maglev_table.h"

#include <gtest/gtest.h>

#include <vector>

#include "pool_fixture.h"

namespace lb::balance {
namespace {

std::vector<int> slots_per_backend(const MaglevTable& table, size_t backends) {
  std::vector<int> out(backends, 0);
  for (size_t s = 0; s < table.size(); ++s) ++out.at(table.at(s));
  return out;
}

TEST(BalanceMaglevTable, EqualWeightsGetNearlyEqualSlots) {
  const MaglevTable table(testing::make_backends(7), 65537);
  for (int count : slots_per_backend(table, 7)) EXPECT_NEAR(count, 65537 / 7, 65537 / 7 / 100 + 2);
}

TEST(BalanceMaglevTable, SlotsFollowWeights) {
  const MaglevTable table(testing::make_backends({1, 3, 0, 6}), 65537);
  const auto slots = slots_per_backend(table, 4);
  EXPECT_NEAR(slots[0], 6554, 66);
  EXPECT_NEAR(slots[1], 19661, 197);
  EXPECT_EQ(slots[2], 0) << "weight 0 owns nothing";
  EXPECT_NEAR(slots[3], 39322, 394);
}

TEST(BalanceMaglevTable, NoWeightNoTable) {
  EXPECT_TRUE(MaglevTable(testing::make_backends({0, 0})).empty());
  EXPECT_TRUE(MaglevTable(BackendList{}).empty());
}

}  // namespace
}  // namespace lb::balance
