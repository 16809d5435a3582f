#include "lb/control/snapshot_builder.h"

#include <gtest/gtest.h>

#include <memory>

namespace lb::proxy {
namespace {

config::BackendConfig backend(std::string name, std::string host, uint16_t port, uint32_t weight = 1) {
  const std::string text = host + ":" + std::to_string(port);
  return {std::move(name), {std::move(host), port, text}, weight};
}

config::PoolConfig pool(std::string name, std::vector<config::BackendConfig> backends) {
  config::PoolConfig p;
  p.name = std::move(name);
  p.backends = std::move(backends);
  return p;
}

config::Route route(std::string host, std::string path_prefix, std::string pool) {
  config::Route r;
  r.host = std::move(host);
  r.path_prefix = std::move(path_prefix);
  r.pool = std::move(pool);
  return r;
}

config::ListenerConfig listener(std::string name, std::vector<config::Route> routes) {
  config::ListenerConfig l;
  l.name = std::move(name);
  l.listen = {"127.0.0.1", 8080, "127.0.0.1:8080"};
  l.routes = std::move(routes);
  return l;
}

// Two pools and one listener; tests edit the copy before building.
config::Config base_config() {
  config::Config c;
  c.pools = {pool("app", {backend("app1", "127.0.0.1", 9001, 3), backend("app2", "127.0.0.1", 9002, 2)}),
             pool("api", {backend("api1", "127.0.0.1", 9101)})};
  c.listeners = {listener("web", {route("API.Example.com", "/v1/", "api"), route("", "", "app")})};
  return c;
}

std::shared_ptr<const config::Config> share(config::Config c) {
  return std::make_shared<const config::Config>(std::move(c));
}

const PoolRuntime& pool_named(const Snapshot& s, std::string_view name) {
  for (const PoolRuntime& p : s.pools)
    if (p.config->name == name) return p;
  throw std::runtime_error("no pool " + std::string(name));
}

TEST(SnapshotBuild, PoolsAndBackendsFollowTheConfig) {
  const auto snap = control::build_snapshot(share(base_config()), nullptr);
  EXPECT_EQ(snap->generation, 1u);
  ASSERT_EQ(snap->pools.size(), 2u);
  const PoolRuntime& app = pool_named(*snap, "app");
  ASSERT_EQ(app.backends.size(), 2u);
  EXPECT_EQ(app.backends[0]->name(), "app1");
  EXPECT_EQ(app.backends[0]->address().text, "127.0.0.1:9001");
  EXPECT_EQ(app.backends[0]->weight(), 3u);
  EXPECT_EQ(app.backends[1]->weight(), 2u);
  // Config pointers point into the snapshot's own config.
  EXPECT_EQ(app.config, &snap->config->pools[0]);
}

TEST(SnapshotBuild, RoutesResolveToPoolIndexesWithLowerCaseHosts) {
  const auto snap = control::build_snapshot(share(base_config()), nullptr);
  const ListenerRuntime* web = snap->find_listener("web");
  ASSERT_NE(web, nullptr);
  const auto& routes = web->routes.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].config, &snap->config->listeners[0].routes[0]);  // into the snapshot's own config
  EXPECT_EQ(routes[0].pool, 1u);
  EXPECT_EQ(routes[1].pool, 0u);
  // The exact host is indexed lower-case; the host-less route is a candidate for any host.
  const auto c = web->routes.candidates("api.example.com");
  ASSERT_EQ(c.lists[0].size(), 1u);
  EXPECT_EQ(c.lists[0][0], 0u);
  ASSERT_EQ(c.lists[2].size(), 1u);
  EXPECT_EQ(c.lists[2][0], 1u);
  EXPECT_EQ(snap->find_listener("nope"), nullptr);
}

TEST(SnapshotBuild, RouteCountersCarryOverAReloadByLabel) {
  auto first = control::build_snapshot(share(base_config()), nullptr);
  first->find_listener("web")->routes.routes()[0].stats->count_request(0);
  auto second = control::build_snapshot(share(base_config()), first.get());
  EXPECT_EQ(second->find_listener("web")->routes.routes()[0].stats->requests(), 1u);
  EXPECT_EQ(second->find_listener("web")->routes.routes()[1].stats->requests(), 0u);
}

TEST(SnapshotBuild, BackendsCarriedOverByPoolNameAndAddress) {
  const auto first = control::build_snapshot(share(base_config()), nullptr);
  const auto app1 = pool_named(*first, "app").backends[0];
  app1->set_healthy(false);
  app1->add_active(5);

  config::Config next = base_config();
  next.pools[0].backends[0].weight = 7;                        // same backend, new weight
  next.pools[0].backends[1] = backend("app2", "127.0.0.1", 9999);  // same name, new address
  const auto second = control::build_snapshot(share(next), first.get());

  EXPECT_EQ(second->generation, 2u);
  const PoolRuntime& app = pool_named(*second, "app");
  EXPECT_EQ(app.backends[0], app1);  // the very same object: health and counters survive
  EXPECT_EQ(app.backends[0]->weight(), 7u);
  EXPECT_FALSE(app.backends[0]->healthy());
  EXPECT_EQ(app.backends[0]->active_requests(), 5);
  EXPECT_NE(app.backends[1], pool_named(*first, "app").backends[1]);
  EXPECT_EQ(app.backends[1]->address().text, "127.0.0.1:9999");
  EXPECT_TRUE(app.backends[1]->healthy());
  EXPECT_EQ(pool_named(*second, "api").backends[0], pool_named(*first, "api").backends[0]);
}

TEST(SnapshotBuild, BackendMovedToAnotherPoolIsANewObject) {
  const auto first = control::build_snapshot(share(base_config()), nullptr);
  config::Config next = base_config();
  next.pools[1].backends.push_back(next.pools[0].backends[0]);  // app1 now also in api
  const auto second = control::build_snapshot(share(next), first.get());
  const auto& api = pool_named(*second, "api").backends;
  ASSERT_EQ(api.size(), 2u);
  EXPECT_EQ(api[1]->name(), "app1");
  EXPECT_NE(api[1], pool_named(*first, "app").backends[0]);
  EXPECT_EQ(pool_named(*second, "app").backends[0], pool_named(*first, "app").backends[0]);
}

TEST(SnapshotBuild, ListenerStateCarriedOverByName) {
  const auto first = control::build_snapshot(share(base_config()), nullptr);
  const auto state = first->find_listener("web")->state;
  ASSERT_NE(state, nullptr);
  state->connections = 12;

  config::Config next = base_config();
  next.listeners.push_back(listener("other", {{"", "", "app"}}));
  const auto second = control::build_snapshot(share(next), first.get());
  EXPECT_EQ(second->find_listener("web")->state, state);
  EXPECT_EQ(second->find_listener("web")->state->connections.load(), 12u);
  ASSERT_NE(second->find_listener("other"), nullptr);
  EXPECT_NE(second->find_listener("other")->state, state);
  EXPECT_EQ(second->find_listener("other")->state->connections.load(), 0u);
}

TEST(SnapshotBuild, RateLimiterOnlyWhenRpsIsSetAndKeptWhileUnchanged) {
  const auto off = control::build_snapshot(share(base_config()), nullptr);
  EXPECT_EQ(off->listeners[0].rate_limiter, nullptr);

  config::Config limited = base_config();
  limited.listeners[0].rate_limit = {10, 5};
  const auto first = control::build_snapshot(share(limited), off.get());
  ASSERT_NE(first->listeners[0].rate_limiter, nullptr);
  EXPECT_EQ(first->listeners[0].rate_limiter->rps(), 10);
  EXPECT_EQ(first->listeners[0].rate_limiter->burst(), 5u);

  // Clients keep their place in the schedule across a reload that keeps it.
  const auto same = control::build_snapshot(share(limited), first.get());
  EXPECT_EQ(same->listeners[0].rate_limiter, first->listeners[0].rate_limiter);

  limited.listeners[0].rate_limit.burst = 50;
  const auto changed = control::build_snapshot(share(limited), same.get());
  ASSERT_NE(changed->listeners[0].rate_limiter, nullptr);
  EXPECT_NE(changed->listeners[0].rate_limiter, first->listeners[0].rate_limiter);
  EXPECT_EQ(changed->listeners[0].rate_limiter->burst(), 50u);
}

TEST(SnapshotBuild, ASnapshotOutlivesTheNextOne) {
  auto first = control::build_snapshot(share(base_config()), nullptr);
  const auto app1 = pool_named(*first, "app").backends[0];
  auto second = control::build_snapshot(share(base_config()), first.get());
  first.reset();  // the old config goes away; the new snapshot must not care
  EXPECT_EQ(pool_named(*second, "app").backends[0], app1);
  EXPECT_EQ(second->find_listener("web")->routes.routes().size(), 2u);
}

// A reload refused by a later step (here a certificate that cannot be read)
// must leave the live backends as they were: weights and slow start are
// only set once everything that can fail has succeeded.
TEST(SnapshotBuild, RefusedBuildLeavesLiveBackendsUnchanged) {
  const auto first = control::build_snapshot(share(base_config()), nullptr);
  const auto app1 = pool_named(*first, "app").backends[0];
  const TimePoint now = Clock::now();
  app1->mark_recovered(now - std::chrono::seconds(1));
  const uint64_t full_weight = app1->weight_at(now);
  ASSERT_EQ(full_weight, 3 * balance::kWeightScale);

  config::Config next = base_config();
  next.pools[0].backends[0].weight = 9;
  next.pools[0].slow_start = std::chrono::minutes(10);
  config::TlsConfig tls;
  tls.certificates.push_back({"/nonexistent/lbd-test.crt", "/nonexistent/lbd-test.key"});
  next.listeners[0].tls = tls;
  EXPECT_THROW(control::build_snapshot(share(next), first.get()), tls::TlsError);

  EXPECT_EQ(app1->weight(), 3u) << "the refused reload changed a live weight";
  EXPECT_EQ(app1->weight_at(now), full_weight) << "the refused reload started slow start";
}

// Without a failure the carried backend takes the new settings.
TEST(SnapshotBuild, AcceptedBuildSetsWeightAndSlowStartOfCarriedBackends) {
  const auto first = control::build_snapshot(share(base_config()), nullptr);
  const auto app1 = pool_named(*first, "app").backends[0];
  const TimePoint now = Clock::now();
  app1->mark_recovered(now - std::chrono::seconds(1));
  config::Config next = base_config();
  next.pools[0].backends[0].weight = 9;
  next.pools[0].slow_start = std::chrono::minutes(10);
  const auto second = control::build_snapshot(share(next), first.get());
  EXPECT_EQ(pool_named(*second, "app").backends[0], app1);
  EXPECT_EQ(app1->weight(), 9u);
  EXPECT_LT(app1->weight_at(now), 9 * balance::kWeightScale) << "slow start not applied";
}

}  // namespace
}  // namespace lb::proxy
