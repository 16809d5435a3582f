#include "lb/balance/ip_hash.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "lb/balance/hash_key.h"
#include "pool_fixture.h"

namespace lb::balance {
namespace {

using testing::make_backends;

constexpr int kClients = 10000;

uint64_t client(int i) {
  const uint32_t addr = 0x0a000000u + static_cast<uint32_t>(i);  // 10.0.0.0/8
  return hash_client_address({reinterpret_cast<const char*>(&addr), sizeof addr});
}

std::vector<const Backend*> assigned_backends(Strategy& s) {
  std::vector<const Backend*> out;
  for (int i = 0; i < kClients; ++i) out.push_back(s.pick({.hash = client(i)}));
  return out;
}

TEST(BalanceIpHash, SameClientKeepsItsBackend) {
  IpHash ip(make_backends(5));
  const auto first = assigned_backends(ip);
  EXPECT_EQ(assigned_backends(ip), first);
}

TEST(BalanceIpHash, ClientsSpreadInWeightProportion) {
  IpHash ip(make_backends({1, 2, 3, 4}));
  std::map<std::string, int> counts;
  for (const Backend* b : assigned_backends(ip)) ++counts[b->name()];
  EXPECT_NEAR(counts["a"], kClients * 0.1, kClients * 0.02);
  EXPECT_NEAR(counts["b"], kClients * 0.2, kClients * 0.02);
  EXPECT_NEAR(counts["c"], kClients * 0.3, kClients * 0.02);
  EXPECT_NEAR(counts["d"], kClients * 0.4, kClients * 0.02);
}

TEST(BalanceIpHash, OnlyClientsOfAnUnusableBackendMoveAndTheyComeBack) {
  auto backends = make_backends(5);
  IpHash ip(backends);
  const auto before = assigned_backends(ip);
  backends[2]->set_healthy(false);
  const auto during = assigned_backends(ip);
  int moved = 0;
  for (int i = 0; i < kClients; ++i) {
    if (before[i] == backends[2].get()) {
      EXPECT_NE(during[i], backends[2].get());
      ++moved;
    } else {
      EXPECT_EQ(during[i], before[i]) << "client " << i << " moved without cause";
    }
  }
  EXPECT_NEAR(moved, kClients / 5, kClients * 0.03);
  backends[2]->set_healthy(true);
  EXPECT_EQ(assigned_backends(ip), before);
}

// A pool that grows (a reload, an SRV answer) moves only the clients the
// new backend wins, whatever the pool's size: 32 -> 33 crosses no
// boundary that would re-bucket everyone.
TEST(BalanceIpHash, ANewBackendTakesOnlyTheClientsItWins) {
  auto backends = make_backends(33);
  IpHash before(BackendList(backends.begin(), backends.end() - 1));
  IpHash after(backends);
  const auto old_places = assigned_backends(before);
  const auto new_places = assigned_backends(after);
  int moved = 0;
  for (int i = 0; i < kClients; ++i) {
    if (new_places[i] == old_places[i]) continue;
    EXPECT_EQ(new_places[i], backends.back().get()) << "client " << i << " moved between old backends";
    ++moved;
  }
  EXPECT_NEAR(moved, kClients / 33, kClients * 0.01);
}

TEST(BalanceIpHash, ListOrderDoesNotMatter) {
  auto backends = make_backends(4);
  IpHash forward(backends);
  IpHash reversed(BackendList(backends.rbegin(), backends.rend()));
  EXPECT_EQ(assigned_backends(forward), assigned_backends(reversed));
}

TEST(BalanceIpHash, RetryGoesToTheClientsNextChoice) {
  auto backends = make_backends(4);
  IpHash ip(backends);
  const uint64_t key = client(7);
  const Backend* first = ip.pick({.hash = key});
  BackendSet tried;
  tried.insert(index_of(backends, first));
  const Backend* retry = ip.pick({.hash = key, .tried = &tried});
  ASSERT_NE(retry, nullptr);
  EXPECT_NE(retry, first);
  EXPECT_EQ(ip.pick({.hash = key, .tried = &tried}), retry);
}

TEST(BalanceIpHash, WithoutAnAddressRequestsRotate) {
  IpHash ip(make_backends(3));
  EXPECT_EQ(testing::pick_sequence(ip, 4), "a b c a");
}

}  // namespace
}  // namespace lb::balance
