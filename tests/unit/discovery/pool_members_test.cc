#include "lb/control/snapshot_builder.h"
#include "lb/discovery/pool_members.h"

#include <gtest/gtest.h>

#include "lb/balance/backend.h"

namespace lb::discovery {
namespace {

std::shared_ptr<const proxy::Snapshot> two_pools() {
  config::Config c;
  config::PoolConfig app;
  app.name = "app";
  app.discovery = config::Discovery{"svc.test", config::DiscoveryType::a, 80};
  config::PoolConfig other;
  other.name = "other";
  other.backends = {{"o1", {"127.0.0.1", 9001, "127.0.0.1:9001"}, 1}};
  c.pools = {app, other};
  return control::build_snapshot(std::make_shared<const config::Config>(std::move(c)), nullptr);
}

TEST(PoolMembers, OnlyThatPoolChangesInTheNextGeneration) {
  auto snap = two_pools();
  auto member = std::make_shared<balance::Backend>("10.0.0.1:80", config::Address{"10.0.0.1", 80, "10.0.0.1:80"}, 1);
  auto next = with_members(*snap, 0, {member});
  EXPECT_EQ(next->generation, snap->generation + 1);
  EXPECT_EQ(next->config, snap->config);
  ASSERT_EQ(next->pools[0].backends.size(), 1u);
  EXPECT_EQ(next->pools[0].backends[0], member);
  EXPECT_TRUE(snap->pools[0].backends.empty());  // the running snapshot is untouched
  EXPECT_EQ(next->pools[1].backends, snap->pools[1].backends);
  EXPECT_EQ(next->pools[1].stats, snap->pools[1].stats);
}

// A reload keeps the members DNS found until the next answer.
TEST(PoolMembers, AReloadCarriesTheDiscoveredMembers) {
  auto snap = two_pools();
  auto member = std::make_shared<balance::Backend>("10.0.0.1:80", config::Address{"10.0.0.1", 80, "10.0.0.1:80"}, 7);
  auto found = with_members(*snap, 0, {member});
  auto reloaded = control::build_snapshot(std::make_shared<const config::Config>(*found->config), found.get());
  ASSERT_EQ(reloaded->pools[0].backends.size(), 1u);
  EXPECT_EQ(reloaded->pools[0].backends[0], member);
  EXPECT_EQ(member->weight(), 7u);  // DNS's weight, not reset by the reload
}

}  // namespace
}  // namespace lb::discovery
