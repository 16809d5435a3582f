#include "lb/control/snapshot_builder.h"
#include "lb/proxy/drained_streams.h"

#include <gtest/gtest.h>

#include <memory>

#include "lb/proxy/snapshot.h"

namespace lb::proxy {
namespace {

config::Config two_backends(bool with_second = true) {
  config::Config c;
  config::PoolConfig p;
  p.name = "app";
  p.backends.push_back({"a", {"127.0.0.1", 9001, "127.0.0.1:9001"}, 1});
  if (with_second) p.backends.push_back({"b", {"127.0.0.1", 9002, "127.0.0.1:9002"}, 1});
  c.pools = {p};
  return c;
}

std::shared_ptr<const config::Config> share(config::Config c) {
  return std::make_shared<const config::Config>(std::move(c));
}

TEST(DrainedStreams, ABackendLeavesWhenDrainedOrInMaintAndComesBackWhenReady) {
  const auto snap = control::build_snapshot(share(two_backends()), nullptr);
  DrainedStreams d;
  d.set_current(*snap);
  balance::Backend& a = *snap->pools[0].backends[0];
  EXPECT_FALSE(d.leaving(a));
  a.set_admin_state(balance::AdminState::draining);
  EXPECT_TRUE(d.leaving(a));
  a.set_admin_state(balance::AdminState::maint);
  EXPECT_TRUE(d.leaving(a));
  a.set_admin_state(balance::AdminState::ready);
  EXPECT_FALSE(d.leaving(a));
}

TEST(DrainedStreams, AReloadThatKeepsABackendKeepsItsStreamsAndARemovedOneLeaves) {
  const auto first = control::build_snapshot(share(two_backends()), nullptr);
  const auto second = control::build_snapshot(share(two_backends(false)), first.get());
  DrainedStreams d;
  d.set_current(*second);
  const balance::Backend& a = *first->pools[0].backends[0];
  const balance::Backend& b = *first->pools[0].backends[1];
  ASSERT_EQ(second->pools[0].backends[0].get(), &a) << "a kept backend is the same object";
  EXPECT_FALSE(d.leaving(a));
  EXPECT_TRUE(d.leaving(b));
}

}  // namespace
}  // namespace lb::proxy
