#include "lb/proxy/load_header.h"

#include "lb/balance/load_report.h"

#include <gtest/gtest.h>

#include "../balance/pool_fixture.h"

namespace lb::proxy {
namespace {

http::ResponseHead head_with(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  http::ResponseHead head;
  head.status = 200;
  for (const auto& [name, value] : fields) head.headers.add(name, value);
  return head;
}

config::LoadReport header_report() {
  config::LoadReport r;
  r.header = "X-Backend-Load";
  return r;
}

TEST(ProxyLoadHeader, ValueIsKeptAndTheHeaderRemoved) {
  auto backend = balance::testing::make_backend("a");
  auto head = head_with({{"Content-Type", "text/plain"}, {"x-backend-load", "7"}, {"X-Other", "1"}});
  const TimePoint now = Clock::now();
  take_load_header(header_report(), head, *backend, now);
  EXPECT_EQ(backend->reported_load(), 7);
  EXPECT_EQ(backend->reported_load_at(), now);
  ASSERT_EQ(head.headers.size(), 2u);
  EXPECT_EQ(head.headers.name(0), "Content-Type");
  EXPECT_EQ(head.headers.name(1), "X-Other");
  EXPECT_EQ(head.headers.value(1), "1");
}

TEST(ProxyLoadHeader, HostileValuesAreStrippedAndIgnored) {
  auto backend = balance::testing::make_backend("a");
  const TimePoint then = Clock::now();
  backend->set_reported_load(3, then);
  for (const char* bad : {"-5", "NaN", "inf", "seven", "", "7;q=1"}) {
    auto head = head_with({{"X-Backend-Load", bad}});
    take_load_header(header_report(), head, *backend, then + std::chrono::seconds(1));
    EXPECT_EQ(head.headers.size(), 0u) << bad;
    EXPECT_EQ(backend->reported_load(), 3) << bad;
    EXPECT_EQ(backend->reported_load_at(), then) << bad;
  }
  // Repeated: which one is true is unknowable; both go, neither counts.
  auto repeated = head_with({{"X-Backend-Load", "1"}, {"X-Backend-Load", "900"}});
  take_load_header(header_report(), repeated, *backend, then + std::chrono::seconds(2));
  EXPECT_EQ(repeated.headers.size(), 0u);
  EXPECT_EQ(backend->reported_load(), 3);
  // Huge: clamped, still a report.
  auto huge = head_with({{"X-Backend-Load", "1e308"}});
  take_load_header(header_report(), huge, *backend, then + std::chrono::seconds(3));
  EXPECT_EQ(backend->reported_load(), balance::kMaxReportedLoad);
}

TEST(ProxyLoadHeader, NothingHappensWithoutAHeaderConfigured) {
  auto backend = balance::testing::make_backend("a");
  auto head = head_with({{"X-Backend-Load", "7"}});
  take_load_header(config::LoadReport{}, head, *backend);
  EXPECT_EQ(head.headers.size(), 1u);
  EXPECT_FALSE(backend->has_reported_load());
}

}  // namespace
}  // namespace lb::proxy
