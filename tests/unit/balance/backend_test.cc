#include "lb/balance/backend.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

namespace lb::balance {
namespace {

using namespace std::chrono_literals;

Backend make(uint32_t weight = 1) { return Backend("a", config::Address{"127.0.0.1", 9000, "127.0.0.1:9000"}, weight); }

TEST(BackendState, UpByDefault) {
  Backend b = make();
  const TimePoint now = Clock::now();
  EXPECT_EQ(b.state_at(now), BackendState::up);
  EXPECT_TRUE(b.usable_at(now));
  EXPECT_TRUE(b.usable_for_pinned_at(now));
}

TEST(BackendState, DrainingKeepsPinnedUsersOnly) {
  Backend b = make();
  b.set_admin_state(AdminState::draining);
  const TimePoint now = Clock::now();
  EXPECT_EQ(b.state_at(now), BackendState::draining);
  EXPECT_FALSE(b.usable_at(now));
  EXPECT_TRUE(b.usable_for_pinned_at(now));
}

TEST(BackendState, MaintTakesNothingAndWinsOverHealth) {
  Backend b = make();
  b.set_admin_state(AdminState::maint);
  b.set_healthy(false);
  const TimePoint now = Clock::now();
  EXPECT_EQ(b.state_at(now), BackendState::maint);
  EXPECT_FALSE(b.usable_at(now));
  EXPECT_FALSE(b.usable_for_pinned_at(now));
}

TEST(BackendState, DownAndEjectedStopPinnedUsersToo) {
  const TimePoint now = Clock::now();
  Backend down = make();
  down.set_healthy(false);
  down.set_admin_state(AdminState::draining);
  EXPECT_EQ(down.state_at(now), BackendState::down);
  EXPECT_FALSE(down.usable_for_pinned_at(now));

  Backend ejected = make();
  ejected.eject_until(now + 10s);
  EXPECT_EQ(ejected.state_at(now), BackendState::ejected);
  EXPECT_FALSE(ejected.usable_for_pinned_at(now));
  EXPECT_EQ(ejected.state_at(now + 10s), BackendState::up);
}

TEST(BackendState, Names) {
  EXPECT_EQ(to_string(BackendState::up), "up");
  EXPECT_EQ(to_string(BackendState::down), "down");
  EXPECT_EQ(to_string(BackendState::draining), "draining");
  EXPECT_EQ(to_string(BackendState::maint), "maint");
  EXPECT_EQ(to_string(BackendState::ejected), "ejected");
  EXPECT_EQ(to_string(CheckResult::timeout), "timeout");
}

TEST(BackendChecks, CountedByResult) {
  Backend b = make();
  b.count_check(CheckResult::success);
  b.count_check(CheckResult::success);
  b.count_check(CheckResult::timeout);
  EXPECT_EQ(b.checks(CheckResult::success), 2u);
  EXPECT_EQ(b.checks(CheckResult::failure), 0u);
  EXPECT_EQ(b.checks(CheckResult::timeout), 1u);
}

TEST(BackendSlowStart, FullWeightWithoutSlowStartOrRecovery) {
  Backend b = make(3);
  const TimePoint now = Clock::now();
  EXPECT_EQ(b.weight_at(now), 3 * kWeightScale);
  b.set_slow_start(30s);
  EXPECT_EQ(b.weight_at(now), 3 * kWeightScale);  // never recovered: no ramp at start
}

TEST(BackendSlowStart, RampsLinearlyAfterRecovery) {
  Backend b = make(2);
  b.set_slow_start(10s);
  const TimePoint t0 = Clock::now();
  b.mark_recovered(t0);
  EXPECT_EQ(b.weight_at(t0), 1u);  // a trickle, never zero
  EXPECT_EQ(b.weight_at(t0 + 2500ms), 2 * kWeightScale / 4);
  EXPECT_EQ(b.weight_at(t0 + 5s), 2 * kWeightScale / 2);
  EXPECT_EQ(b.weight_at(t0 + 10s), 2 * kWeightScale);
  EXPECT_EQ(b.weight_at(t0 + 1h), 2 * kWeightScale);
}

TEST(BackendSlowStart, RampsFromTheEndOfAnEjection) {
  Backend b = make(1);
  b.set_slow_start(10s);
  const TimePoint t0 = Clock::now();
  b.eject_until(t0 + 5s);
  EXPECT_EQ(b.weight_at(t0 + 10s), kWeightScale / 2);
  EXPECT_EQ(b.weight_at(t0 + 15s), kWeightScale);
}

}  // namespace
}  // namespace lb::balance

namespace lb::balance {
namespace {

TEST(BackendSlots, MaxRequestsCapsSlotsAcrossThreads) {
  Backend b = make();
  b.set_max_requests(3);
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i)
        if (b.try_acquire_slot()) taken.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(taken.load(), 3);
  EXPECT_EQ(b.active_requests(), 3);
  EXPECT_FALSE(b.has_room());
  b.release_slot();
  EXPECT_TRUE(b.has_room());
  EXPECT_TRUE(b.try_acquire_slot());
}

TEST(BackendSlots, NoCapTakesEverySlot) {
  Backend b = make();
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.try_acquire_slot());
  EXPECT_EQ(b.active_requests(), 1000);
  EXPECT_TRUE(b.has_room());
  b.set_max_requests(10);  // lowered below what is in flight: nothing new until it drains
  EXPECT_FALSE(b.try_acquire_slot());
}

// A host name (lb/discovery resolves it): no address until one is set, and
// not usable meanwhile; a new address replaces the old for the next reader.
TEST(BackendAddress, AHostNameHasNoAddressUntilResolved) {
  Backend b("app1", config::Address{"app.internal", 9001, "app.internal:9001"}, 1);
  EXPECT_EQ(b.sockaddr().ss_family, AF_UNSPEC);
  EXPECT_FALSE(b.usable());
  EXPECT_EQ(b.state_at(Clock::now()), BackendState::down);
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(9001);
  v4->sin_addr.s_addr = htonl(0x0a000001);
  b.set_sockaddr(ss);
  EXPECT_TRUE(b.usable());
  const sockaddr_storage got = b.sockaddr();
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(got).sin_addr.s_addr, htonl(0x0a000001));
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(got).sin_port, htons(9001));
}

TEST(BackendAddress, LiteralsAreSetAtConstruction) {
  Backend b("v6", config::Address{"::1", 80, "[::1]:80"}, 1);
  const sockaddr_storage got = b.sockaddr();
  ASSERT_EQ(got.ss_family, AF_INET6);
  EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6&>(got).sin6_addr));
}

// Readers on other threads see one whole address or the other, never a mix.
TEST(BackendAddress, ReadersNeverSeeATornAddress) {
  Backend b("app1", config::Address{"app.internal", 9001, "app.internal:9001"}, 1);
  sockaddr_storage a{}, c{};
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
  auto* c6 = reinterpret_cast<sockaddr_in6*>(&c);
  a6->sin6_family = c6->sin6_family = AF_INET6;
  a6->sin6_port = c6->sin6_port = htons(80);
  std::memset(&a6->sin6_addr, 0x11, sizeof a6->sin6_addr);
  std::memset(&c6->sin6_addr, 0x22, sizeof c6->sin6_addr);
  b.set_sockaddr(a);
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const sockaddr_storage s = b.sockaddr();
      const auto& addr = reinterpret_cast<const sockaddr_in6&>(s).sin6_addr;
      if (std::memcmp(&addr, &a6->sin6_addr, 16) != 0 && std::memcmp(&addr, &c6->sin6_addr, 16) != 0) ++torn;
    }
  });
  for (int i = 0; i < 200000; ++i) b.set_sockaddr(i % 2 ? a : c);
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

}  // namespace
}  // namespace lb::balance
