// The DNS parts of the config file (lb/config/discovery_section.cc):
// top-level resolver, a pool's resolve_interval and discovery.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lb/config/loader.h"
#include "load_messages.h"

namespace lb::config {
namespace {

using ::testing::ElementsAre;

using test::messages;

// One listener and one pool "app" whose member lines are `members`.
LoadResult load(const std::string& top, const std::string& members) {
  return load_string(top +
                         "listeners:\n"
                         "  - {name: web, listen: 127.0.0.1:8080, routes: [{pool: app}]}\n"
                         "pools:\n"
                         "  - name: app\n" +
                         members,
                     "lbd.yaml");
}

const std::string kBackends = "    backends: [{name: a, address: app.internal:9001}]\n";

TEST(DiscoverySection, Defaults) {
  LoadResult r = load("", kBackends);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  EXPECT_TRUE(r.config->resolver.nameservers.empty());
  EXPECT_EQ(r.config->resolver.timeout, std::chrono::seconds(2));
  EXPECT_EQ(r.config->pools[0].resolve_interval, std::chrono::seconds(30));
  EXPECT_FALSE(r.config->pools[0].discovery);
  // Where the address was written, for --check.
  const Place& at = r.config->pools[0].backends[0].address_at;
  EXPECT_EQ(at.key_path, "pools[0].backends[0].address");
  EXPECT_EQ(at.line, 5);
  EXPECT_EQ(at.column, 35);
}

TEST(DiscoverySection, EveryKey) {
  LoadResult r = load("resolver: {nameservers: [127.0.0.1:5353, \"[::1]:53\"], timeout: 300ms}\n",
                      "    resolve_interval: 10s\n"
                      "    discovery: {name: _http._tcp.svc.test., type: SRV, interval: 2s}\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  const Config& c = *r.config;
  ASSERT_EQ(c.resolver.nameservers.size(), 2u);
  EXPECT_EQ(c.resolver.nameservers[1].host, "::1");
  EXPECT_EQ(c.resolver.timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(c.pools[0].resolve_interval, std::chrono::seconds(10));
  ASSERT_TRUE(c.pools[0].discovery);
  EXPECT_EQ(c.pools[0].discovery->name, "_http._tcp.svc.test");  // the root dot is dropped
  EXPECT_EQ(c.pools[0].discovery->type, DiscoveryType::srv);
  EXPECT_EQ(c.pools[0].discovery->interval, std::chrono::seconds(2));
  EXPECT_EQ(c.pools[0].discovery->name_at.line, 7);
  EXPECT_TRUE(c.pools[0].backends.empty());
}

TEST(DiscoverySection, AddressTypesNeedAPort) {
  LoadResult r = load("", "    discovery: {name: svc.test, type: A}\n");
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:5:16: pools[0].discovery.port: must be 1..65535 for type A or "
                                       "AAAA (the port of every address found)"));
  r = load("", "    discovery: {name: svc.test, type: AAAA, port: 8080}\n");
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
}

TEST(DiscoverySection, Refusals) {
  EXPECT_THAT(messages(load("", "    discovery: {name: _x._tcp.test, type: SRV, port: 80}\n")),
              ElementsAre("lbd.yaml:5:54: pools[0].discovery.port: SRV records carry their own ports: leave port out"));
  EXPECT_THAT(messages(load("", "    discovery: {name: svc.test, type: MX, port: 80}\n")),
              ElementsAre("lbd.yaml:5:39: pools[0].discovery.type: unknown value 'MX' (valid: A, AAAA, SRV)"));
  EXPECT_THAT(messages(load("", "    discovery: {name: 'bad name', type: A, port: 80}\n")),
              ElementsAre("lbd.yaml:5:23: pools[0].discovery.name: 'bad name' is not a DNS name (labels of 1..63 "
                          "letters, digits, '-' or '_'; 253 characters at most)"));
  EXPECT_THAT(messages(load("", "    discovery: {name: svc.test, type: A, port: 80, interval: 100ms}\n")),
              ElementsAre("lbd.yaml:5:62: pools[0].discovery.interval: must be 1s or more"));
  EXPECT_THAT(messages(load("", "    discovery: {name: svc.test, type: A, port: 80, ttl: 5s}\n")),
              ElementsAre("lbd.yaml:5:52: pools[0].discovery.ttl: unknown key"));
  EXPECT_THAT(messages(load("", kBackends + "    resolve_interval: 500ms\n")),
              ElementsAre("lbd.yaml:6:23: pools[0].resolve_interval: must be 1s or more"));
  EXPECT_THAT(messages(load("resolver: {nameservers: [dns.example:53]}\n", kBackends)),
              ElementsAre("lbd.yaml:1:26: resolver.nameservers[0]: a nameserver must be an IP address with a port, "
                          "e.g. 127.0.0.1:53 or [::1]:53"));
}

TEST(DiscoverySection, BackendsAndDiscoveryAreExclusive) {
  LoadResult r = load("", "    discovery: {name: svc.test, type: A, port: 80}\n" + kBackends);
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:6:15: pools[0].backends: a pool takes its members from either "
                                       "backends or discovery, not both"));
  r = load("", "    strategy: round_robin\n");
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:4:5: pools[0].backends: is required"));
}

}  // namespace
}  // namespace lb::config
