#include "lb/balance/strategy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace lb::balance {
namespace {

BackendList make_list(int n) {
  BackendList list;
  for (int i = 0; i < n; ++i) {
    const std::string name = "b" + std::to_string(i);
    list.push_back(std::make_shared<Backend>(name, config::Address{"127.0.0.1", uint16_t(9000 + i), name}, 1));
  }
  return list;
}

TEST(BalanceIndexOf, FindsEveryBackendWhereverItSits) {
  BackendList pool = make_list(5);
  for (size_t i = 0; i < pool.size(); ++i) EXPECT_EQ(index_of(pool, pool[i].get()), i);
  // A reload lists the same backends in another order: the position each
  // one remembered is wrong now, and must not be believed.
  BackendList reloaded = pool;
  std::reverse(reloaded.begin(), reloaded.end());
  for (size_t i = 0; i < reloaded.size(); ++i) EXPECT_EQ(index_of(reloaded, reloaded[i].get()), i);
  for (size_t i = 0; i < pool.size(); ++i) EXPECT_EQ(index_of(pool, pool[i].get()), i) << "the old list, again";
}

TEST(BalanceIndexOf, ABackendInTwoPoolsIsFoundInEach) {
  BackendList first = make_list(3);
  BackendList second = {first[2], first[0]};
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(index_of(first, first[2].get()), 2u);
    EXPECT_EQ(index_of(second, first[2].get()), 0u);
    EXPECT_EQ(index_of(second, first[0].get()), 1u);
    EXPECT_EQ(index_of(first, first[0].get()), 0u);
  }
}

TEST(BalanceIndexOf, ABackendNotListedIsNotFound) {
  BackendList pool = make_list(3);
  BackendList other = make_list(1);
  EXPECT_EQ(index_of(pool, other[0].get()), size_t(-1));
  EXPECT_EQ(index_of(BackendList{}, pool[1].get()), size_t(-1));
  EXPECT_EQ(index_of(pool, nullptr), size_t(-1)) << "a failed pick";
}

}  // namespace
}  // namespace lb::balance
