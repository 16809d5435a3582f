#include "lb/proxy/traffic_split.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <string>

namespace lb::proxy {
namespace {

uint64_t key_hash(int i) {
  const std::string key = "user" + std::to_string(i);
  return XXH3_64bits(key.data(), key.size());
}

TEST(TrafficSplit, WeightsHoldOverManyKeys) {
  const TrafficSplit s({{7, 70}, {8, 20}, {9, 10}}, std::nullopt);
  int count[3] = {};
  const int n = 100000;
  for (int i = 0; i < n; ++i) ++count[s.pick(key_hash(i)) - 7];
  EXPECT_NEAR(count[0] / double(n), 0.70, 0.01);
  EXPECT_NEAR(count[1] / double(n), 0.20, 0.01);
  EXPECT_NEAR(count[2] / double(n), 0.10, 0.01);
}

TEST(TrafficSplit, SameConfigSameSideAndRaisingTheCanaryOnlyMovesKeysToIt) {
  const TrafficSplit before({{1, 90}, {2, 10}}, std::nullopt);
  const TrafficSplit rebuilt({{1, 90}, {2, 10}}, std::nullopt);  // a reload of the same file
  const TrafficSplit raised({{1, 80}, {2, 20}}, std::nullopt);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t h = key_hash(i);
    ASSERT_EQ(before.pick(h), rebuilt.pick(h));
    if (before.pick(h) == 2) ASSERT_EQ(raised.pick(h), 2u) << "a canary key went back";
  }
}

TEST(TrafficSplit, ZeroWeightGetsNothing) {
  const TrafficSplit s({{1, 0}, {2, 5}}, std::nullopt);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(s.pick(key_hash(i)), 2u);
}

// The split's hash is fixed: a user's side must not depend on the build or
// the process (std::hash may differ), so replicas agree. These values pin it.
TEST(TrafficSplit, SidesArePinnedAcrossBuilds) {
  const TrafficSplit s({{1, 50}, {2, 50}}, std::nullopt);
  std::string sides;
  for (int i = 0; i < 16; ++i) sides += char('0' + s.pick(key_hash(i)));
  EXPECT_EQ(sides, "1211112212212221");
}

}  // namespace
}  // namespace lb::proxy
