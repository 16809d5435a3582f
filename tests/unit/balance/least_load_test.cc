#include "lb/balance/least_load.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "pool_fixture.h"

namespace lb::balance {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::make_backends;

constexpr Duration kMaxAge = seconds(3);

// Picks `count` requests at `now`, each staying in flight, per backend name.
std::map<std::string, int> fill(LeastLoad& s, int count, TimePoint now, const PickContext& ctx = {}) {
  std::map<std::string, int> out;
  for (int i = 0; i < count; ++i) {
    Backend* b = s.pick_at(ctx, now);
    if (!b) break;
    b->add_active(1);
    ++out[b->name()];
  }
  return out;
}

TEST(BalanceLeastLoad, WithoutReportsItBalancesInFlight) {
  auto backends = make_backends(3);
  LeastLoad s(backends, kMaxAge, 1);
  const auto picks = fill(s, 300, Clock::now());
  for (const auto& b : backends) EXPECT_NEAR(b->active_requests(), 100, 2) << b->name();
  EXPECT_EQ(picks.size(), 3u);
}

// Reported load and in-flight requests add up: a backend reporting a
// queue of 20 gets new requests only once the others carry 20 more.
TEST(BalanceLeastLoad, ReportedLoadCountsLikeInFlightRequests) {
  auto backends = make_backends(2);
  const TimePoint now = Clock::now();
  backends[0]->set_reported_load(20, now);
  LeastLoad s(backends, kMaxAge, 2);
  fill(s, 20, now);
  EXPECT_EQ(backends[1]->active_requests(), 20);
  EXPECT_EQ(backends[0]->active_requests(), 0);
  fill(s, 40, now);
  EXPECT_NEAR(backends[0]->active_requests(), 20, 1);
  EXPECT_NEAR(backends[1]->active_requests(), 40, 1);
}

// Among several backends two random choices spread requests in proportion
// to the room each one reports, without sending everything to the emptiest.
TEST(BalanceLeastLoad, ProportionsFollowReportedLoad) {
  auto backends = make_backends(4);
  const TimePoint now = Clock::now();
  const double reported[] = {0, 10, 30, 1000};
  for (size_t i = 0; i < backends.size(); ++i) backends[i]->set_reported_load(reported[i], now);
  LeastLoad s(backends, kMaxAge, 3);
  fill(s, 60, now);
  // The far busiest gets nothing; the others' totals (report + in flight)
  // move together, closer than the 30 their reports started apart (two
  // random choices are not an exact minimum: c wins every draw against d).
  EXPECT_EQ(backends[3]->active_requests(), 0);
  EXPECT_GT(backends[0]->active_requests(), backends[2]->active_requests());
  double low = 1e9, high = 0;
  for (size_t i = 0; i < 3; ++i) {
    low = std::min(low, reported[i] + backends[i]->active_requests());
    high = std::max(high, reported[i] + backends[i]->active_requests());
  }
  EXPECT_LT(high - low, 15);
}

TEST(BalanceLeastLoad, WeightDividesTheLoad) {
  auto backends = make_backends({3, 1});
  const TimePoint now = Clock::now();
  backends[0]->set_reported_load(6, now);
  backends[1]->set_reported_load(2, now);
  LeastLoad s(backends, kMaxAge, 4);
  fill(s, 80, now);
  // (6 + a) / 3 == (2 + b) / 1 with a + b = 80: a = 60, b = 20.
  EXPECT_NEAR(backends[0]->active_requests(), 60, 1);
  EXPECT_NEAR(backends[1]->active_requests(), 20, 1);
}

TEST(BalanceLeastLoad, StaleReportsFadeToInFlightAlone) {
  auto backends = make_backends(2);
  const TimePoint then = Clock::now();
  backends[0]->set_reported_load(1000, then);
  LeastLoad s(backends, kMaxAge, 5);
  EXPECT_EQ(s.pick_at({}, then + seconds(2)), backends[1].get());  // fresh: avoided
  const auto picks = fill(s, 100, then + kMaxAge + milliseconds(1));
  EXPECT_NEAR(picks.at("a"), 50, 1) << "a report older than 3 intervals still counted";
  // A fresh report counts again at once.
  backends[1]->set_reported_load(1000, then + seconds(4));
  EXPECT_EQ(s.pick_at({}, then + seconds(4)), backends[0].get());
}

// need_room: a backend at max_requests is skipped whatever it reports;
// when all are full there is no pick and the caller queues.
TEST(BalanceLeastLoad, RespectsMaxRequests) {
  auto backends = make_backends(2);
  const TimePoint now = Clock::now();
  backends[1]->set_reported_load(50, now);  // busier by its report...
  backends[0]->set_max_requests(3);         // ...but a is capped
  LeastLoad s(backends, kMaxAge, 6);
  PickContext ctx;
  ctx.need_room = true;
  const auto picks = fill(s, 10, now, ctx);
  EXPECT_EQ(picks.at("a"), 3);
  EXPECT_EQ(picks.at("b"), 7);
  backends[1]->set_max_requests(7);
  EXPECT_EQ(s.pick_at(ctx, now), nullptr);
  EXPECT_NE(s.pick_at({}, now), nullptr);  // without need_room (a hash key's home) it still answers
}

TEST(BalanceLeastLoad, UnusableAndTriedBackendsAreSkipped) {
  auto backends = make_backends(3);
  backends[0]->set_healthy(false);
  LeastLoad s(backends, kMaxAge, 7);
  BackendSet tried;
  tried.insert(1);
  PickContext ctx;
  ctx.tried = &tried;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.pick_at(ctx, Clock::now()), backends[2].get());
  tried.insert(2);
  EXPECT_EQ(s.pick_at(ctx, Clock::now()), nullptr);
}

}  // namespace
}  // namespace lb::balance
