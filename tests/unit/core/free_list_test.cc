#include "lb/core/free_list.h"

#include <gtest/gtest.h>

#include <vector>

namespace lb {
namespace {

// Counts live items, so a test sees what trim() really freed.
struct Item {
  static inline int live = 0;
  Item() { ++live; }
  ~Item() { --live; }
};

class FreeListTest : public ::testing::Test {
 protected:
  void SetUp() override { Item::live = 0; }
  // Takes n items (from the list when it has them), then returns them all.
  void serve(FreeList<Item>& list, size_t n) {
    std::vector<Item*> out;
    for (size_t i = 0; i < n; ++i) {
      Item* item = list.pop();
      out.push_back(item ? item : new Item);
    }
    for (Item* item : out)
      if (!list.push(item)) delete item;
  }
};

TEST_F(FreeListTest, AfterABurstTheCacheIsFreedWithinTwoTrims) {
  {
    FreeList<Item> list(1000);
    serve(list, 500);  // the burst
    EXPECT_EQ(list.size(), 500u);
    EXPECT_EQ(list.trim(), 0u) << "emptied during the interval: nothing sat unused";
    EXPECT_EQ(list.trim(), 500u) << "untouched for a whole interval";
    EXPECT_EQ(list.size(), 0u);
    EXPECT_EQ(Item::live, 0);
  }
  EXPECT_EQ(Item::live, 0);
}

TEST_F(FreeListTest, SteadyUseKeepsWhatItReuses) {
  FreeList<Item> list(1000);
  serve(list, 500);  // a burst, then steady traffic of 20 at a time
  for (int second = 0; second < 5; ++second) {
    serve(list, 20);
    list.trim();
  }
  EXPECT_EQ(list.size(), 20u) << "the steady load's 20 stay cached, the burst's rest is gone";
  serve(list, 20);
  EXPECT_EQ(Item::live, 20) << "steady traffic allocated nothing new";
  list.trim();
  EXPECT_EQ(list.size(), 20u);
}

TEST_F(FreeListTest, NeverHoldsMoreThanItsCap) {
  {
    FreeList<Item> list(8);
    serve(list, 30);
    EXPECT_EQ(list.size(), 8u);
    EXPECT_EQ(Item::live, 8);
  }
  EXPECT_EQ(Item::live, 0) << "the destructor frees what is cached";
}

}  // namespace
}  // namespace lb
