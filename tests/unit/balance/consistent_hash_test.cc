#include "lb/balance/consistent_hash.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "pool_fixture.h"

namespace lb::balance {
namespace {

using testing::make_backends;

constexpr int kKeys = 20000;

uint64_t key(int i) { return XXH3_64bits(&i, sizeof i); }

std::vector<std::string> assigned_names(Strategy& s) {
  std::vector<std::string> out;
  for (int i = 0; i < kKeys; ++i) out.push_back(testing::name_of(s.pick({.hash = key(i)})));
  return out;
}

double fraction_moved(const std::vector<std::string>& before, const std::vector<std::string>& after) {
  int moved = 0;
  for (size_t i = 0; i < before.size(); ++i) moved += before[i] != after[i];
  return static_cast<double>(moved) / static_cast<double>(before.size());
}

TEST(BalanceConsistentHash, SameKeySameBackend) {
  ConsistentHash ch(make_backends(5), 0);
  const auto first = assigned_names(ch);
  EXPECT_EQ(assigned_names(ch), first);
}

TEST(BalanceConsistentHash, KeysSpreadInWeightProportion) {
  ConsistentHash ch(make_backends({1, 2, 3, 4}), 0);
  std::map<std::string, int> counts;
  for (const auto& name : assigned_names(ch)) ++counts[name];
  EXPECT_NEAR(counts["a"], kKeys * 0.1, kKeys * 0.02);
  EXPECT_NEAR(counts["b"], kKeys * 0.2, kKeys * 0.02);
  EXPECT_NEAR(counts["c"], kKeys * 0.3, kKeys * 0.02);
  EXPECT_NEAR(counts["d"], kKeys * 0.4, kKeys * 0.02);
}

// A reload that drops one of 10 backends: its keys move (1/10 of all), and
// almost nothing else does.
TEST(BalanceConsistentHash, RemovingABackendMovesOnlyItsKeys) {
  const auto backends = make_backends(10);
  ConsistentHash before(backends, 0);
  BackendList fewer = backends;
  fewer.erase(fewer.begin() + 3);
  ConsistentHash after(fewer, 0);
  const auto a = assigned_names(before);
  const auto b = assigned_names(after);
  int others_moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (a[i] == "d") EXPECT_NE(b[i], "d");
    else others_moved += a[i] != b[i];
  }
  EXPECT_NEAR(fraction_moved(a, b), 0.10, 0.02);
  EXPECT_LT(others_moved, kKeys * 0.02);
}

TEST(BalanceConsistentHash, AddingABackendMovesAboutOneInNPlusOne) {
  const auto backends = make_backends(11);
  ConsistentHash before(BackendList(backends.begin(), backends.end() - 1), 0);
  ConsistentHash after(backends, 0);
  const auto a = assigned_names(before);
  const auto b = assigned_names(after);
  int moved_between_old = 0;
  for (int i = 0; i < kKeys; ++i) moved_between_old += a[i] != b[i] && b[i] != "k";
  EXPECT_NEAR(fraction_moved(a, b), 1.0 / 11, 0.02);
  EXPECT_LT(moved_between_old, kKeys * 0.02);
}

TEST(BalanceConsistentHash, ListOrderDoesNotMatter) {
  const auto backends = make_backends(6);
  ConsistentHash forward(backends, 0);
  ConsistentHash reversed(BackendList(backends.rbegin(), backends.rend()), 0);
  EXPECT_EQ(assigned_names(forward), assigned_names(reversed));
}

TEST(BalanceConsistentHash, OnlyKeysOfAnUnusableBackendMoveAndTheyComeBack) {
  auto backends = make_backends(5);
  ConsistentHash ch(backends, 0);
  const auto before = assigned_names(ch);
  backends[1]->eject_until(Clock::now() + std::chrono::hours(1));
  const auto during = assigned_names(ch);
  std::map<std::string, int> refuge;
  for (int i = 0; i < kKeys; ++i) {
    if (before[i] == "b") ++refuge[during[i]];
    else EXPECT_EQ(during[i], before[i]);
  }
  EXPECT_EQ(refuge.count("b"), 0u);
  EXPECT_EQ(refuge.size(), 4u) << "a down backend's keys spread over all the others";
  backends[1]->eject_until(Clock::now());
  EXPECT_EQ(assigned_names(ch), before);
}

TEST(BalanceConsistentHash, RequestsWithoutAKeyRotate) {
  ConsistentHash ch(make_backends(3), 0);
  EXPECT_EQ(testing::pick_sequence(ch, 4), "a b c a");
}

// The bound after placing a request: ceil(F x mean in-flight).
int ceiling(double f, const BackendList& backends) {
  int total = 0;
  for (const auto& b : backends) total += b->active_requests();
  return static_cast<int>(std::ceil(f * total / static_cast<double>(backends.size()) - 1e-9));
}

int max_active(const BackendList& backends) {
  int most = 0;
  for (const auto& b : backends) most = std::max(most, b->active_requests());
  return most;
}

TEST(BalanceConsistentHash, BoundedLoadCapsEveryBackendUnderRandomTraffic) {
  constexpr double kFactor = 1.25;
  auto backends = make_backends(6);
  ConsistentHash ch(backends, kFactor);
  std::mt19937_64 rng(42);
  std::vector<Backend*> in_flight;
  for (int i = 0; i < 20000; ++i) {
    // Skewed keys: a few hot ones dominate.
    const int k = static_cast<int>(std::min<uint64_t>(rng() % 1000, rng() % 1000) % 50);
    Backend* b = ch.pick({.hash = key(k)});
    ASSERT_NE(b, nullptr);
    b->add_active(1);
    in_flight.push_back(b);
    ASSERT_LE(b->active_requests(), ceiling(kFactor, backends)) << "pick " << i;
    if (in_flight.size() > 200) {  // finish a random one
      std::swap(in_flight[rng() % in_flight.size()], in_flight.back());
      in_flight.back()->add_active(-1);
      in_flight.pop_back();
    }
  }
}

TEST(BalanceConsistentHash, BoundedLoadSpreadsOneHotKey) {
  constexpr double kFactor = 1.5;
  auto backends = make_backends(4);
  ConsistentHash ch(backends, kFactor);
  const Backend* home = ch.pick({.hash = key(1)});
  for (int i = 0; i < 400; ++i) ch.pick({.hash = key(1)})->add_active(1);
  EXPECT_LE(max_active(backends), ceiling(kFactor, backends));
  EXPECT_EQ(home->active_requests(), max_active(backends)) << "the key's own backend fills first";
}

TEST(BalanceConsistentHash, WithoutBoundAHotKeyStaysHome) {
  auto backends = make_backends(4);
  ConsistentHash ch(backends, 0);
  for (int i = 0; i < 400; ++i) ch.pick({.hash = key(1)})->add_active(1);
  EXPECT_EQ(max_active(backends), 400);
}

TEST(BalanceConsistentHash, RetryLeavesTheTriedBackend) {
  auto backends = make_backends(4);
  ConsistentHash ch(backends, 0);
  const Backend* first = ch.pick({.hash = key(9)});
  BackendSet tried;
  tried.insert(index_of(backends, first));
  const Backend* retry = ch.pick({.hash = key(9), .tried = &tried});
  ASSERT_NE(retry, nullptr);
  EXPECT_NE(retry, first);
}

}  // namespace
}  // namespace lb::balance
