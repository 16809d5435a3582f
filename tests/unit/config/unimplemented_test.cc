#include "lb/config/unimplemented.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lb::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> messages(const Config& c) {
  std::vector<std::string> out;
  for (const auto& e : unimplemented_features(c)) out.push_back(e.to_string());
  return out;
}

Config minimal() {
  Config c;
  c.source_file = "lbd.yaml";
  c.listeners.push_back(ListenerConfig{.name = "web"});
  c.pools.push_back(PoolConfig{.name = "app"});
  return c;
}

TEST(ConfigUnimplemented, PlainConfigHasNone) {
  Config c = minimal();
  c.pools[0].session.mode = SessionMode::passthrough;  // passthrough is plain balancing
  EXPECT_THAT(messages(c), IsEmpty());
  c.pools[0].session.mode = SessionMode::sticky;
  c.pools[0].passive.max_fails = 3;
  c.pools[0].health_check = HealthCheck{};  // built: active checks and slow start
  c.pools[0].slow_start = std::chrono::seconds(30);
  EXPECT_THAT(messages(c), IsEmpty());
}

TEST(ConfigUnimplemented, TlsIsImplemented) {
  Config c = minimal();
  c.listeners[0].tls = TlsConfig{};
  EXPECT_THAT(messages(c), IsEmpty());
}

TEST(ConfigUnimplemented, EachMissingFeatureIsRefusedByItsKey) {
  Config c = minimal();
  c.listeners[0].rate_limit.rps = 10;
  EXPECT_THAT(messages(c),
              ElementsAre("lbd.yaml: listeners[0].rate_limit: rate limiting is not implemented in this build yet"));
}

}  // namespace
}  // namespace lb::config
