#include "lb/config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lb/balance/factory.h"
#include "../session/sticky_key_file.h"
#include "load_messages.h"

namespace lb::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kDataDir = std::string(LBD_TEST_DATA_DIR) + "/config";

using test::messages;

// A smallest valid file. `top`, `listener`, `pool` and `backend` are spliced
// in (already indented) to make one point of it good or bad.
struct Pieces {
  std::string top;
  std::string listener;
  std::string routes = "    routes: [{pool: app}]\n";
  std::string pool;
  std::string backend;
};

std::string config_with(const Pieces& p) {
  return p.top +
         "listeners:\n"
         "  - name: web\n"
         "    listen: 127.0.0.1:8080\n" +
         p.listener + p.routes +
         "pools:\n"
         "  - name: app\n" +
         p.pool +
         "    backends:\n"
         "      - name: app1\n"
         "        address: 127.0.0.1:9001\n" +
         p.backend;
}

LoadResult load(const std::string& text) { return load_string(text, "lbd.yaml"); }

TEST(ConfigLoader, SmallestFileGetsTheDefaultsOfConfigH) {
  const LoadResult r = load(config_with({}));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  const Config& c = *r.config;
  EXPECT_EQ(c.source_file, "lbd.yaml");
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.shutdown_timeout, seconds(30));
  EXPECT_EQ(c.admin.listen.text, "127.0.0.1:9901");
  EXPECT_EQ(c.log.level, LogLevel::info);
  EXPECT_EQ(c.log.access_log, "stdout");

  ASSERT_EQ(c.listeners.size(), 1u);
  const ListenerConfig& l = c.listeners[0];
  EXPECT_EQ(l.name, "web");
  EXPECT_EQ(l.listen.host, "127.0.0.1");
  EXPECT_EQ(l.listen.port, 8080);
  EXPECT_FALSE(l.tls.has_value());
  EXPECT_EQ(l.timeouts.header, ListenerTimeouts{}.header);
  EXPECT_EQ(l.timeouts.idle, ListenerTimeouts{}.idle);
  EXPECT_EQ(l.timeouts.send, seconds(60));
  EXPECT_EQ(l.limits.max_header_bytes, ListenerLimits{}.max_header_bytes);
  EXPECT_EQ(l.limits.max_body_bytes, ListenerLimits{}.max_body_bytes);
  EXPECT_EQ(l.limits.max_connections, ListenerLimits{}.max_connections);
  EXPECT_EQ(l.rate_limit.rps, 0);
  EXPECT_TRUE(l.http2.enabled);  // DESIGN.md: on unless turned off
  EXPECT_EQ(l.http2.max_concurrent_streams, 100u);
  EXPECT_EQ(l.http2.initial_window, 256u * 1024);
  ASSERT_EQ(l.routes.size(), 1u);
  EXPECT_EQ(l.routes[0].pool, "app");
  EXPECT_EQ(l.routes[0].host, "");

  ASSERT_EQ(c.pools.size(), 1u);
  const PoolConfig& p = c.pools[0];
  const PoolConfig defaults;
  EXPECT_EQ(p.strategy, Strategy::round_robin);
  EXPECT_EQ(p.hash_key, defaults.hash_key);
  EXPECT_EQ(p.bounded_load, 0);
  EXPECT_EQ(p.session.mode, SessionMode::none);
  EXPECT_EQ(p.session.cookie.name, "LBSTICKY");
  EXPECT_FALSE(p.health_check.has_value());
  EXPECT_EQ(p.passive.max_fails, defaults.passive.max_fails);
  EXPECT_EQ(p.passive.fail_timeout, defaults.passive.fail_timeout);
  EXPECT_EQ(p.retries, defaults.retries);
  EXPECT_EQ(p.slow_start, milliseconds(0));
  EXPECT_EQ(p.timeouts.connect, defaults.timeouts.connect);
  EXPECT_EQ(p.timeouts.response, defaults.timeouts.response);
  EXPECT_EQ(p.keepalive.max_idle, defaults.keepalive.max_idle);
  EXPECT_EQ(p.keepalive.idle_timeout, defaults.keepalive.idle_timeout);
  ASSERT_EQ(p.backends.size(), 1u);
  EXPECT_EQ(p.backends[0].name, "app1");
  EXPECT_EQ(p.backends[0].address.port, 9001);
  EXPECT_EQ(p.backends[0].weight, 1u);
}

// The text of a file with the value of every `secret_file:` replaced by `key_path`.
std::string with_secret_files(const std::string& path, const std::string& key_path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string key = "secret_file: ";
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
    const size_t value = at + key.size();
    const size_t end = text.find_first_of(",}\n", value);
    text.replace(value, end - value, key_path);
  }
  return text;
}

TEST(ConfigLoader, FullFileSetsEveryKey) {
  const std::string path = kDataDir + "/full.yaml";
  const session::test::KeyFile key(std::string(32, 'k'));
  const LoadResult r = load_string(with_secret_files(path, key.path()), path);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  const Config& c = *r.config;
  EXPECT_EQ(c.source_file, path);
  EXPECT_EQ(c.workers, 4u);
  EXPECT_EQ(c.shutdown_timeout, seconds(45));
  EXPECT_EQ(c.admin.listen.port, 9902);
  EXPECT_EQ(c.admin.token_file, "/etc/lbd/admin.token");
  EXPECT_EQ(c.log.level, LogLevel::debug);
  EXPECT_EQ(c.log.access_log, "/var/log/lbd/access.log");

  const ListenerConfig& l = c.listeners.at(0);
  EXPECT_EQ(l.listen.host, "::1");
  EXPECT_EQ(l.listen.port, 8443);
  EXPECT_EQ(l.listen.text, "[::1]:8443");
  EXPECT_EQ(l.timeouts.header, seconds(5));
  EXPECT_EQ(l.timeouts.idle, minutes(2));
  EXPECT_EQ(l.timeouts.send, seconds(90));
  EXPECT_EQ(l.limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(l.limits.max_body_bytes, 0u);
  EXPECT_EQ(l.limits.max_connections, 100u);
  EXPECT_EQ(l.rate_limit.rps, 12.5);
  EXPECT_EQ(l.rate_limit.burst, 20u);
  ASSERT_EQ(l.routes.size(), 2u);
  EXPECT_EQ(l.routes[0].host, "api.example.com");
  EXPECT_EQ(l.routes[0].path_prefix, "/v1/");
  EXPECT_EQ(l.routes[0].pool, "api");
  EXPECT_EQ(l.routes[1].pool, "app");

  ASSERT_EQ(c.pools.size(), 2u);
  const PoolConfig& p = c.pools[0];
  EXPECT_EQ(p.hash_key, "header:X-User");
  EXPECT_EQ(p.bounded_load, 1.25);
  EXPECT_EQ(p.session.mode, SessionMode::sticky);
  EXPECT_EQ(p.session.cookie.name, "SRV");
  EXPECT_EQ(p.session.cookie.ttl, std::chrono::hours(1));
  EXPECT_EQ(p.session.cookie.secret_file, key.path());
  EXPECT_EQ(p.session.cookie.key, std::string(32, 'k'));
  EXPECT_TRUE(p.session.cookie.secure);
  EXPECT_FALSE(p.session.cookie.http_only);
  EXPECT_EQ(p.session.cookie.same_site, "Strict");
  ASSERT_TRUE(p.health_check.has_value());
  EXPECT_EQ(p.health_check->path, "/ready");
  EXPECT_EQ(p.health_check->interval, milliseconds(500));
  EXPECT_EQ(p.health_check->timeout, milliseconds(250));
  EXPECT_EQ(p.health_check->rise, 1);
  EXPECT_EQ(p.health_check->fall, 5);
  ASSERT_EQ(p.health_check->expect_status.size(), 2u);
  EXPECT_EQ(p.health_check->expect_status[0].low, 200);
  EXPECT_EQ(p.health_check->expect_status[0].high, 200);
  EXPECT_EQ(p.health_check->expect_status[1].low, 300);
  EXPECT_EQ(p.health_check->expect_status[1].high, 302);
  EXPECT_EQ(p.health_check->host, "app.internal");
  EXPECT_EQ(p.passive.max_fails, 0);
  EXPECT_EQ(p.passive.fail_timeout, seconds(30));
  EXPECT_EQ(p.retries, 0u);
  EXPECT_EQ(p.slow_start, milliseconds(1500));
  EXPECT_EQ(p.timeouts.connect, milliseconds(200));
  EXPECT_EQ(p.timeouts.response, seconds(90));
  EXPECT_EQ(p.keepalive.max_idle, 0u);
  EXPECT_EQ(p.keepalive.idle_timeout, seconds(15));
  ASSERT_EQ(p.backends.size(), 2u);
  EXPECT_EQ(p.backends[0].weight, 1000u);
  EXPECT_EQ(p.backends[1].address.host, "localhost");
  EXPECT_EQ(c.pools[1].session.mode, SessionMode::passthrough);
}

TEST(ConfigLoader, OverloadKeys) {
  const LoadResult r = load(config_with({.pool = "    queue: {max: 10, timeout: 2s}\n"
                                                 "    retry_budget: {percent: 12.5, min_retries: 1}\n"
                                                 "    retry_on_status: [503, 429]\n"
                                                 "    passive: {max_ejected_percent: 30}\n",
                                         .backend = "        max_requests: 4\n"}));
  ASSERT_TRUE(r.config.has_value()) << ::testing::PrintToString(messages(r));
  const PoolConfig& p = r.config->pools[0];
  EXPECT_EQ(p.queue.max, 10u);
  EXPECT_EQ(p.queue.timeout, std::chrono::seconds(2));
  EXPECT_EQ(p.retry_budget.percent, 12.5);
  EXPECT_EQ(p.retry_budget.min_retries, 1u);
  EXPECT_THAT(p.retry_on_status, ElementsAre(503, 429));
  EXPECT_EQ(p.passive.max_ejected_percent, 30);
  EXPECT_EQ(p.backends[0].max_requests, 4u);
  const PoolConfig defaults;
  EXPECT_EQ(defaults.queue.max, 0u);
  EXPECT_EQ(defaults.queue.timeout, std::chrono::seconds(30));
  EXPECT_EQ(defaults.retry_budget.percent, 20);
  EXPECT_EQ(defaults.retry_budget.min_retries, 3u);
  EXPECT_EQ(defaults.passive.max_ejected_percent, 50);
}

TEST(ConfigLoader, LoadReportKeys) {
  const LoadResult r = load(config_with({.pool = "    strategy: least_load\n"
                                                 "    load_report: {header: X-Backend-Load, metric: \"vllm:num_requests_waiting\",\n"
                                                 "                  path: /stats, interval: 250ms}\n"}));
  ASSERT_TRUE(r.config.has_value()) << ::testing::PrintToString(messages(r));
  const LoadReport& lr = r.config->pools[0].load_report;
  EXPECT_EQ(lr.header, "X-Backend-Load");
  EXPECT_EQ(lr.metric, "vllm:num_requests_waiting");
  EXPECT_EQ(lr.path, "/stats");
  EXPECT_EQ(lr.interval, milliseconds(250));
  const LoadReport defaults;
  EXPECT_EQ(defaults.header, "");
  EXPECT_EQ(defaults.metric, "");
  EXPECT_EQ(defaults.path, "/metrics");
  EXPECT_EQ(defaults.interval, seconds(1));
}

// least_load with nothing reported would silently be least_connections.
TEST(ConfigLoader, LeastLoadWithoutALoadReport) {
  const LoadResult r = load(config_with({.pool = "    strategy: least_load\n"}));
  EXPECT_THAT(messages(r),
              ElementsAre("lbd.yaml:7:15: pools[0].strategy: least_load needs load_report.header or load_report.metric"));
  const LoadResult empty = load(config_with({.pool = "    strategy: least_load\n    load_report: {header: \"\"}\n"}));
  EXPECT_FALSE(empty.ok());
}

// --- Exact messages, with positions, for the errors operators hit most. ---

TEST(ConfigLoader, BadWeight) {
  const LoadResult r = load(config_with({.backend = "        weight: 1001\n"}));
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:10:17: pools[0].backends[0].weight: must be 1..1000"));
  EXPECT_FALSE(r.config.has_value());
}

TEST(ConfigLoader, UnknownKeyIsReportedAtTheKey) {
  const LoadResult r = load(config_with({.listener = "    tiemouts: {idle: 5s}\n"}));
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:4:5: listeners[0].tiemouts: unknown key"));
}

TEST(ConfigLoader, DuplicateBackendName) {
  const LoadResult r = load(config_with({.backend = "      - {name: app1, address: 127.0.0.1:9002}\n"}));
  EXPECT_THAT(messages(r),
              ElementsAre("lbd.yaml:10:16: pools[0].backends[1].name: duplicate backend name 'app1' (first at line 8)"));
}

TEST(ConfigLoader, BadDuration) {
  const LoadResult r = load(config_with({.listener = "    timeouts: {idle: 10x}\n"}));
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:4:22: listeners[0].timeouts.idle: invalid duration '10x' "
                                       "(use ms, s, m or h, e.g. 250ms, 1.5s, 5m)"));
}

TEST(ConfigLoader, RouteToUnknownPool) {
  const LoadResult r = load(config_with({.routes = "    routes: [{pool: app}, {pool: apps}]\n"}));
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:4:34: listeners[0].routes[1].pool: unknown pool 'apps'"));
}

TEST(ConfigLoader, UnknownStrategyListsTheValidNames) {
  const LoadResult r = load(config_with({.pool = "    strategy: roundrobin\n"}));
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:7:15: pools[0].strategy: unknown strategy 'roundrobin' (valid: "
                                       "round_robin, weighted_round_robin, least_connections, ip_hash, "
                                       "consistent_hash, p2c_ewma, least_load)"));
}

constexpr Strategy kAllStrategies[] = {Strategy::round_robin,     Strategy::weighted_round_robin,
                                       Strategy::least_connections, Strategy::ip_hash,
                                       Strategy::consistent_hash,   Strategy::p2c_ewma,
                                       Strategy::least_load};

TEST(ConfigLoader, EveryStrategyLoads) {
  for (Strategy s : kAllStrategies) {
    const std::string name = balance::strategy_name(s);
    // least_load needs something to read (LoadReportKeys).
    const std::string report = s == Strategy::least_load ? "    load_report: {header: X-Load}\n" : "";
    const LoadResult r = load(config_with({.pool = "    strategy: " + name + "\n" + report}));
    ASSERT_TRUE(r.ok()) << name << ": " << ::testing::PrintToString(messages(r));
    EXPECT_EQ(r.config->pools[0].strategy, s);
  }
}

TEST(ConfigLoader, YamlSyntaxErrorHasItsPosition) {
  const LoadResult r = load("listeners:\n  - name: web\n   listen: 127.0.0.1:80\n");
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:3:4: invalid YAML: end of sequence not found"));
}

TEST(ConfigLoader, MissingListenersAndPools) {
  EXPECT_THAT(messages(load("workers: auto\n")),
              ElementsAre("lbd.yaml:1:1: pools: is required", "lbd.yaml:1:1: listeners: is required"));
  EXPECT_THAT(messages(load("")), ElementsAre("lbd.yaml: pools: is required", "lbd.yaml: listeners: is required"));
}

TEST(ConfigLoader, ReportsEveryErrorOfAFileInFileOrder) {
  const std::string path = kDataDir + "/several_errors.yaml";
  EXPECT_THAT(messages(load_file(path)),
              ElementsAre(path + ":1:10: workers: must be 'auto' or 1..256",
                          path + ":5:5: listeners[0].tiemouts: unknown key",
                          path + ":7:16: listeners[0].routes[0].pool: unknown pool 'nowhere'",
                          path + ":11:52: pools[0].backends[0].weight: must be 1..1000",
                          path + ":12:16: pools[0].backends[1].name: duplicate backend name 'a' (first at line 11)",
                          path + ":12:28: pools[0].backends[1].address: invalid address '127.0.0.1:70000': "
                                 "port must be 1..65535"));
}

TEST(ConfigLoader, MissingFileIsOneErrorNamingIt) {
  const std::string path = kDataDir + "/no-such-file.yaml";
  EXPECT_THAT(messages(load_file(path)), ElementsAre(path + ": cannot read: No such file or directory"));
  EXPECT_THAT(messages(load_file(kDataDir)), ElementsAre(kDataDir + ": cannot read: Is a directory"));
}

// metrics::PerWorker has 256 slots: more workers than that must never run.
TEST(ConfigLoader, WorkersAboveTheMaximumAreRefusedWithTheirPosition) {
  EXPECT_THAT(messages(load(config_with({.top = "log: {level: info}\nworkers: 257\n"}))),
              ElementsAre("lbd.yaml:2:10: workers: must be 'auto' or 1..256"));
  const LoadResult at_max = load(config_with({.top = "workers: 256\n"}));
  ASSERT_TRUE(at_max.ok()) << ::testing::PrintToString(messages(at_max));
  EXPECT_EQ(at_max.config->workers, 256u);
}

TEST(ConfigLoader, AutoWorkersFollowTheCpuCountUpToTheMaximum) {
  EXPECT_EQ(resolve_workers(0, 8), 8u);
  EXPECT_EQ(resolve_workers(0, 0), 1u) << "CPU count unknown";
  EXPECT_EQ(resolve_workers(0, 256), 256u);
  EXPECT_EQ(resolve_workers(0, 512), kMaxWorkers) << "auto on a 512-thread machine";
  EXPECT_EQ(resolve_workers(3, 512), 3u);
  EXPECT_EQ(resolve_workers(256, 1), 256u);
}

TEST(ConfigLoader, ErrorWithoutPositionOrKeyPath) {
  EXPECT_EQ((ConfigError{"a.yaml", 0, 0, "", "cannot read: x"}.to_string()), "a.yaml: cannot read: x");
  EXPECT_EQ((ConfigError{"a.yaml", 2, 3, "", "invalid YAML: y"}.to_string()), "a.yaml:2:3: invalid YAML: y");
  EXPECT_EQ((ConfigError{"a.yaml", 2, 3, "workers", "z"}.to_string()), "a.yaml:2:3: workers: z");
}

// --- One bad value each: the key path and message, position aside. ---

struct BadValue {
  const char* name;
  Pieces pieces;
  const char* expected;  // "key.path: message"
};

void PrintTo(const BadValue& v, std::ostream* os) { *os << v.name; }

class ConfigLoaderRefuses : public ::testing::TestWithParam<BadValue> {};

TEST_P(ConfigLoaderRefuses, WithOneSpecificError) {
  const LoadResult r = load(config_with(GetParam().pieces));
  ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(messages(r));
  EXPECT_EQ(r.errors[0].key_path + ": " + r.errors[0].message, GetParam().expected);
  EXPECT_GT(r.errors[0].line, 0);
  EXPECT_FALSE(r.config.has_value());
}

const BadValue kBadValues[] = {
    {"workers_zero", {.top = "workers: 0\n"}, "workers: must be 'auto' or 1..256"},
    {"workers_too_many", {.top = "workers: 257\n"}, "workers: must be 'auto' or 1..256"},
    {"shutdown_zero", {.top = "shutdown_timeout: 0s\n"}, "shutdown_timeout: must be greater than 0"},
    {"log_level", {.top = "log: {level: verbose}\n"},
     "log.level: unknown value 'verbose' (valid: trace, debug, info, warn, error)"},
    {"access_log_empty", {.top = "log: {access_log: \"\"}\n"}, "log.access_log: must not be empty"},
    {"admin_open_without_token", {.top = "admin: {listen: 0.0.0.0:9901}\n"},
     "admin.token_file: is required when admin.listen is not a loopback address"},
    {"admin_same_address_as_listener", {.top = "admin: {listen: 127.0.0.1:8080}\n"},
     "listeners[0].listen: duplicate listen address '127.0.0.1:8080' (first at line 1)"},
    {"unknown_top_key", {.top = "pool: []\n"}, "pool: unknown key"},
    {"duplicate_yaml_key", {.top = "workers: 2\nworkers: 3\n"}, "workers: duplicate key"},
    {"section_not_a_map", {.top = "log: info\n"}, "log: must be a mapping"},
    {"tls_without_certificates", {.listener = "    tls: null\n"}, "listeners[0].tls.certificates: is required"},
    {"http2_streams_zero", {.listener = "    http2: {max_concurrent_streams: 0}\n"},
     "listeners[0].http2.max_concurrent_streams: must be 1..1000"},
    {"http2_window_small", {.listener = "    http2: {initial_window: 1KiB}\n"},
     "listeners[0].http2.initial_window: must be 16KiB to 2GiB-1"},
    {"http2_unknown_key", {.listener = "    http2: {push: true}\n"}, "listeners[0].http2.push: unknown key"},
    {"proxy_protocol_not_bool", {.listener = "    proxy_protocol: v2\n"},
     "listeners[0].proxy_protocol: must be true or false"},
    {"trusted_proxy_not_cidr", {.listener = "    trusted_proxies: [10.0.0.0/8, 10.0.0.1/8]\n"},
     "listeners[0].trusted_proxies[1]: has bits set past its /8 prefix"},
    {"trusted_proxy_name", {.listener = "    trusted_proxies: [lb.internal]\n"},
     "listeners[0].trusted_proxies[0]: 'lb.internal' is not an IPv4 or IPv6 address"},
    {"send_proxy_protocol", {.pool = "    send_proxy_protocol: v3\n"},
     "pools[0].send_proxy_protocol: unknown value 'v3' (valid: off, v1, v2)"},
    {"upstream_tls_cert_without_key", {.pool = "    tls: {cert: /etc/hosts}\n"},
     "pools[0].tls.cert: cert and key go together: set both for mutual TLS, or neither"},
    {"upstream_tls_ca_missing", {.pool = "    tls: {ca_file: /nonexistent/ca.pem}\n"},
     "pools[0].tls.ca_file: cannot read '/nonexistent/ca.pem': No such file or directory"},
    {"upstream_tls_unknown_key", {.pool = "    tls: {verify_peer: true}\n"}, "pools[0].tls.verify_peer: unknown key"},
    {"v6_without_brackets", {.backend = "      - {name: b, address: \"::1:80\"}\n"},
     "pools[0].backends[1].address: invalid address '::1:80': write IPv6 addresses as [address]:port"},
    {"port_zero", {.backend = "      - {name: b, address: 127.0.0.1:0}\n"},
     "pools[0].backends[1].address: invalid address '127.0.0.1:0': port must be 1..65535"},
    {"routes_not_a_list", {.routes = "    routes: {pool: app}\n"}, "listeners[0].routes: must be a list"},
    {"bad_v6", {.backend = "      - {name: b, address: \"[::g]:80\"}\n"},
     "pools[0].backends[1].address: invalid address '[::g]:80': '::g' is not an IPv6 address"},
    {"no_port", {.backend = "      - {name: b, address: 127.0.0.1}\n"},
     "pools[0].backends[1].address: invalid address '127.0.0.1': expected host:port"},
    {"bad_ipv4", {.backend = "      - {name: b, address: 127.0.0.300:80}\n"},
     "pools[0].backends[1].address: invalid address '127.0.0.300:80': '127.0.0.300' is not an IPv4 address or "
     "host name"},
    {"port_too_big", {.backend = "      - {name: b, address: \"[::1]:65536\"}\n"},
     "pools[0].backends[1].address: invalid address '[::1]:65536': port must be 1..65535"},
    {"weight_zero", {.backend = "        weight: 0\n"}, "pools[0].backends[0].weight: must be 1..1000"},
    {"weight_not_a_number", {.backend = "        weight: heavy\n"}, "pools[0].backends[0].weight: must be 1..1000"},
    {"backend_without_name", {.backend = "      - {address: 127.0.0.1:9002}\n"},
     "pools[0].backends[1].name: is required"},
    {"listeners_twice", {.top = "listeners:\n  - {name: web, listen: 127.0.0.1:81, routes: [{pool: app}]}\n"},
     "listeners: duplicate key"},
    {"header_timeout_zero", {.listener = "    timeouts: {header: 0ms}\n"},
     "listeners[0].timeouts.header: must be greater than 0"},
    {"header_limit_zero", {.listener = "    limits: {max_header_bytes: 0}\n"},
     "listeners[0].limits.max_header_bytes: must be greater than 0"},
    {"body_limit_bad_unit", {.listener = "    limits: {max_body_bytes: 10MB}\n"},
     "listeners[0].limits.max_body_bytes: invalid size '10MB' (use B, KiB, MiB or GiB, e.g. 32KiB; a bare number "
     "is bytes)"},
    {"negative_rps", {.listener = "    rate_limit: {rps: -1}\n"},
     "listeners[0].rate_limit.rps: must be 0 (off) to 1000000 requests a second"},
    {"rps_too_high", {.listener = "    rate_limit: {rps: 2000000}\n"},
     "listeners[0].rate_limit.rps: must be 0 (off) to 1000000 requests a second"},
    {"burst_too_high", {.listener = "    rate_limit: {rps: 10, burst: 1000001}\n"},
     "listeners[0].rate_limit.burst: must be 0..1000000"},
    {"burst_without_rps", {.listener = "    rate_limit: {burst: 5}\n"},
     "listeners[0].rate_limit.burst: has no effect without rps; set rps, or remove burst"},
    {"rps_not_a_number", {.listener = "    rate_limit: {rps: fast}\n"}, "listeners[0].rate_limit.rps: must be a number"},
    {"empty_routes", {.routes = "    routes: []\n"}, "listeners[0].routes: must not be empty"},
    {"relative_path_prefix", {.routes = "    routes: [{path_prefix: v1, pool: app}]\n"},
     "listeners[0].routes[0].path_prefix: must start with '/'"},
    {"empty_certificates", {.listener = "    tls: {certificates: []}\n"},
     "listeners[0].tls.certificates: must not be empty"},
    {"missing_cert_file", {.listener = "    tls: {certificates: [{cert: /nonexistent/site.pem, key: /etc/hostname}]}\n"},
     "listeners[0].tls.certificates[0].cert: cannot read '/nonexistent/site.pem': No such file or directory"},
    {"bad_hash_key", {.pool = "    hash_key: \"header:\"\n"},
     "pools[0].hash_key: must be client_ip, uri, header:NAME or cookie:NAME"},
    {"bounded_load_one", {.pool = "    bounded_load: 1\n"},
     "pools[0].bounded_load: must be 0 (off) or greater than 1, e.g. 1.25"},
    {"sticky_without_key", {.pool = "    session: {mode: sticky}\n"},
     "pools[0].session.cookie.secret_file: is required when mode is sticky"},
    {"sticky_key_missing", {.pool = "    session: {mode: sticky, cookie: {secret_file: /nonexistent/sticky.key}}\n"},
     "pools[0].session.cookie.secret_file: /nonexistent/sticky.key: cannot open: No such file or directory"},
    {"sticky_key_empty", {.pool = "    session: {mode: sticky, cookie: {secret_file: \"\"}}\n"},
     "pools[0].session.cookie.secret_file: is required when mode is sticky"},
    {"cookie_ttl_below_a_second", {.pool = "    session: {cookie: {ttl: 500ms}}\n"},
     "pools[0].session.cookie.ttl: must be at least 1s (cookies count in whole seconds)"},
    {"same_site_none_needs_secure", {.pool = "    session: {cookie: {same_site: None}}\n"},
     "pools[0].session.cookie.same_site: SameSite=None needs secure: true (browsers drop the cookie otherwise)"},
    {"session_mode", {.pool = "    session: {mode: redis}\n"},
     "pools[0].session.mode: unknown value 'redis' (valid: none, sticky, passthrough)"},
    {"same_site", {.pool = "    session: {cookie: {same_site: lax}}\n"},
     "pools[0].session.cookie.same_site: unknown value 'lax' (valid: Strict, Lax, None)"},
    {"cookie_name", {.pool = "    session: {cookie: {name: \"my cookie\"}}\n"},
     "pools[0].session.cookie.name: 'my cookie' is not a valid header or cookie name"},
    {"cookie_secure", {.pool = "    session: {cookie: {secure: maybe}}\n"},
     "pools[0].session.cookie.secure: must be true or false"},
    {"check_path", {.pool = "    health_check: {path: healthz}\n"}, "pools[0].health_check.path: must start with '/'"},
    {"check_interval", {.pool = "    health_check: {interval: 0s}\n"},
     "pools[0].health_check.interval: must be greater than 0"},
    {"check_rise", {.pool = "    health_check: {rise: 0}\n"}, "pools[0].health_check.rise: must be 1..1000"},
    {"check_status_range", {.pool = "    health_check: {expect_status: 399-200}\n"},
     "pools[0].health_check.expect_status: invalid status '399-200' (expected a code like 200 or a range like "
     "200-399, within 100..599)"},
    {"check_status_in_list", {.pool = "    health_check: {expect_status: [200, 700]}\n"},
     "pools[0].health_check.expect_status[1]: invalid status '700' (expected a code like 200 or a range like "
     "200-399, within 100..599)"},
    {"passive_max_fails", {.pool = "    passive: {max_fails: -1}\n"}, "pools[0].passive.max_fails: must be 0..1000"},
    {"retries", {.pool = "    retries: 11\n"}, "pools[0].retries: must be 0..10"},
    {"max_requests", {.backend = "        max_requests: -1\n"}, "pools[0].backends[0].max_requests: must be 0..1000000"},
    {"queue_timeout", {.pool = "    queue: {max: 10, timeout: 0s}\n"}, "pools[0].queue.timeout: must be greater than 0"},
    {"queue_key", {.pool = "    queue: {size: 10}\n"}, "pools[0].queue.size: unknown key"},
    {"budget_percent", {.pool = "    retry_budget: {percent: 120}\n"}, "pools[0].retry_budget.percent: must be 0..100"},
    {"retry_on_status", {.pool = "    retry_on_status: [503, 200]\n"}, "pools[0].retry_on_status[1]: must be 400..599"},
    {"max_ejected_percent", {.pool = "    passive: {max_ejected_percent: 101}\n"},
     "pools[0].passive.max_ejected_percent: must be 0..100"},
    {"max_idle", {.pool = "    keepalive: {max_idle: 100001}\n"}, "pools[0].keepalive.max_idle: must be 0..100000"},
    {"connect_timeout", {.pool = "    timeouts: {connect: 1}\n"},
     "pools[0].timeouts.connect: invalid duration '1' (use ms, s, m or h, e.g. 250ms, 1.5s, 5m)"},
    {"negative_slow_start", {.pool = "    slow_start: -1s\n"},
     "pools[0].slow_start: invalid duration '-1s' (use ms, s, m or h, e.g. 250ms, 1.5s, 5m)"},
    {"slow_start_without_weights", {.pool = "    slow_start: 10s\n"},
     "pools[0].slow_start: needs a strategy that uses weights: weighted_round_robin, least_connections, p2c_ewma or "
     "least_load"},
    {"load_report_header", {.pool = "    load_report: {header: \"X Load\"}\n"},
     "pools[0].load_report.header: must be a header name (RFC 9110 token characters)"},
    {"load_report_framing_header", {.pool = "    load_report: {header: content-length}\n"},
     "pools[0].load_report.header: 'content-length' is a header lbd itself interprets; choose another (e.g. "
     "X-Backend-Load)"},
    {"load_report_metric", {.pool = "    load_report: {metric: \"9queue\"}\n"},
     "pools[0].load_report.metric: must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), e.g. "
     "vllm:num_requests_waiting"},
    {"load_report_path", {.pool = "    load_report: {metric: q, path: metrics}\n"},
     "pools[0].load_report.path: must start with '/'"},
    {"load_report_interval", {.pool = "    load_report: {metric: q, interval: 10ms}\n"},
     "pools[0].load_report.interval: must be at least 100ms"},
    {"load_report_key", {.pool = "    load_report: {headers: X-Load}\n"}, "pools[0].load_report.headers: unknown key"},
    {"name_is_a_list", {.backend = "      - {name: [a], address: 127.0.0.1:9002}\n"},
     "pools[0].backends[1].name: must be a single value, not a list"},
};

INSTANTIATE_TEST_SUITE_P(ConfigLoaderBadValues, ConfigLoaderRefuses, ::testing::ValuesIn(kBadValues),
                         [](const auto& info) { return std::string(info.param.name); });

// --- Values that look odd but are meant to load. ---

TEST(ConfigLoader, AcceptsTheOtherSpellingsOfEachValue) {
  const session::test::KeyFile key(std::string(32, 'k'));
  const LoadResult r = load(config_with({
      .top = "workers: auto\nadmin: {listen: \"[::1]:9901\"}\nlog:\n",  // empty section: defaults
      .listener = "    limits: {max_body_bytes: 0}\n",
      .pool = "    hash_key: cookie:sid\n    bounded_load: 0\n"
              "    health_check: {expect_status: 204}\n"
              "    session: {mode: sticky, cookie: {secret_file: " + key.path() + "}}\n",
      .backend = "      - {name: app2, address: \"[2001:db8::1]:80\", weight: 1}\n",
  }));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  const Config& c = *r.config;
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.admin.listen.host, "::1");
  EXPECT_EQ(c.log.level, LogLevel::info);
  EXPECT_EQ(c.listeners[0].limits.max_body_bytes, 0u);
  EXPECT_EQ(c.pools[0].hash_key, "cookie:sid");
  ASSERT_TRUE(c.pools[0].health_check.has_value());
  ASSERT_EQ(c.pools[0].health_check->expect_status.size(), 1u);
  EXPECT_EQ(c.pools[0].health_check->expect_status[0].low, 204);
  EXPECT_EQ(c.pools[0].health_check->expect_status[0].high, 204);
  EXPECT_EQ(c.pools[0].health_check->path, "/healthz");  // the other keys keep their defaults
  EXPECT_EQ(c.pools[0].backends[1].address.host, "2001:db8::1");
}

TEST(ConfigLoader, StickyKeyProblemsPointAtSecretFile) {
  const session::test::KeyFile open_key(std::string(32, 'k'), 0644);
  const session::test::KeyFile short_key(std::string(16, 'k'), 0600);
  const LoadResult r = load_string(
      "listeners: [{name: web, listen: 127.0.0.1:80, routes: [{pool: a}]}]\n"
      "pools:\n"
      "  - name: a\n"
      "    session:\n"
      "      mode: sticky\n"
      "      cookie:\n"
      "        secret_file: " + open_key.path() + "\n"
      "    backends: [{name: a1, address: 127.0.0.1:9001}]\n"
      "  - name: b\n"
      "    session: {mode: sticky, cookie: {secret_file: " + short_key.path() + "}}\n"
      "    backends: [{name: b1, address: 127.0.0.1:9002}]\n",
      "lbd.yaml");
  EXPECT_THAT(messages(r),
              ElementsAre("lbd.yaml:7:22: pools[0].session.cookie.secret_file: " + open_key.path() +
                              ": is readable or writable by every user (mode 0644); a key others can read lets "
                              "them forge sticky cookies: chmod 600 it",
                          "lbd.yaml:10:51: pools[1].session.cookie.secret_file: " + short_key.path() +
                              ": holds 16 bytes; a sticky key needs at least 32 (head -c 32 /dev/urandom > FILE)"));
}

TEST(ConfigLoader, KeyFileIsReadOnlyForStickyPools) {
  // passthrough and none never sign anything: a key file named there is not read.
  for (const char* mode : {"none", "passthrough"}) {
    const LoadResult r = load(config_with(
        {.pool = std::string("    session: {mode: ") + mode + ", cookie: {secret_file: /nonexistent/key}}\n"}));
    EXPECT_TRUE(r.ok()) << mode << ::testing::PrintToString(messages(r));
    EXPECT_TRUE(r.config->pools[0].session.cookie.key.empty());
  }
}

TEST(ConfigLoader, AdminOffLoopbackLoadsWithAToken) {
  const LoadResult r = load(config_with({.top = "admin: {listen: 0.0.0.0:9901, token_file: /etc/lbd/admin.token}\n"}));
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  for (const char* loopback : {"127.0.0.2:9901", "localhost:9901", "\"[::1]:9901\""})
    EXPECT_TRUE(load(config_with({.top = std::string("admin: {listen: ") + loopback + "}\n"})).ok()) << loopback;
}

TEST(ConfigLoader, TlsFilesThatExistAreAccepted) {
  const std::string tls = kDataDir + "/tls";
  const LoadResult r = load(config_with({.listener = "    tls:\n      certificates:\n        - {cert: " + tls +
                                                     "/cert.pem, key: " + tls + "/key.pem}\n"
                                                     "      min_version: \"1.3\"\n"}));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  ASSERT_TRUE(r.config->listeners[0].tls.has_value());
  EXPECT_EQ(r.config->listeners[0].tls->certificates.at(0).key, tls + "/key.pem");
  EXPECT_EQ(r.config->listeners[0].tls->min_version, "1.3");

  const LoadResult old = load(config_with(
      {.listener = "    tls: {certificates: [{cert: " + tls + "/cert.pem, key: " + tls + "/key.pem}], min_version: 1.1}\n"}));
  EXPECT_THAT(messages(old), ElementsAre(HasSubstr("listeners[0].tls.min_version: unknown value '1.1' (valid: 1.2, 1.3)")));
}

// The files are parsed as the listener will use them; the error names the
// file and sits on the key whose file is wrong.
TEST(ConfigLoader, UnusableTlsFilesAreErrorsNamingTheFile) {
  const std::string certs = std::string(LBD_TEST_DATA_DIR) + "/tls";
  auto with_pair = [&](const std::string& cert, const std::string& key) {
    return messages(load(config_with(
        {.listener = "    tls: {certificates: [{cert: " + certs + "/" + cert + ", key: " + certs + "/" + key + "}]}\n"})));
  };
  EXPECT_THAT(with_pair("site.pem", "other.key"),
              ElementsAre(HasSubstr("listeners[0].tls.certificates[0].key: private key '" + certs +
                                          "/other.key' does not match certificate '" + certs + "/site.pem'")));
  EXPECT_THAT(with_pair("README", "site.key"),
              ElementsAre(HasSubstr("listeners[0].tls.certificates[0].cert: cannot use certificate '" + certs +
                                    "/README': ")));
  EXPECT_THAT(with_pair("site.pem", "encrypted.key"),
              ElementsAre(HasSubstr("listeners[0].tls.certificates[0].key: cannot use private key '" + certs +
                                    "/encrypted.key': ")));
  EXPECT_THAT(with_pair("site.pem", "site.key"), IsEmpty());
}

TEST(ConfigLoader, ProxyProtocolAndUpstreamTlsFieldsLoad) {
  const std::string tls = kDataDir + "/tls";
  const LoadResult r = load(config_with(
      {.listener = "    proxy_protocol: true\n    trusted_proxies: [10.0.0.0/8, \"::1\", 192.0.2.7]\n",
       .pool = "    send_proxy_protocol: v2\n    tls: {verify: false, server_name: app.internal, ca_file: " + tls +
               "/cert.pem, cert: " + tls + "/cert.pem, key: " + tls + "/key.pem}\n"}));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  const ListenerConfig& l = r.config->listeners[0];
  EXPECT_TRUE(l.proxy_protocol);
  ASSERT_EQ(l.trusted_proxies.size(), 3u);
  EXPECT_EQ(l.trusted_proxies[0].prefix, 8);
  EXPECT_EQ(l.trusted_proxies[1].length, 16);
  EXPECT_EQ(l.trusted_proxies[2].text, "192.0.2.7");
  const PoolConfig& p = r.config->pools[0];
  EXPECT_EQ(p.send_proxy_protocol, SendProxyProtocol::v2);
  ASSERT_TRUE(p.tls.has_value());
  EXPECT_FALSE(p.tls->verify);
  EXPECT_EQ(p.tls->server_name, "app.internal");
  EXPECT_EQ(p.tls->key, tls + "/key.pem");

  const LoadResult plain = load(config_with({}));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain.config->listeners[0].proxy_protocol);
  EXPECT_EQ(plain.config->pools[0].send_proxy_protocol, SendProxyProtocol::off);
  EXPECT_FALSE(plain.config->pools[0].tls.has_value());
  // An empty block means TLS with every default: verified against the system CAs.
  const LoadResult empty = load(config_with({.pool = "    tls: {}\n    send_proxy_protocol: off\n"}));
  ASSERT_TRUE(empty.ok()) << ::testing::PrintToString(messages(empty));
  ASSERT_TRUE(empty.config->pools[0].tls.has_value());
  EXPECT_TRUE(empty.config->pools[0].tls->verify);
}

TEST(ConfigLoader, DuplicateListenerAndPoolNames) {
  const LoadResult r = load(
      "listeners:\n"
      "  - {name: web, listen: 127.0.0.1:80, routes: [{pool: app}]}\n"
      "  - {name: web, listen: 127.0.0.1:81, routes: [{pool: app}]}\n"
      "pools:\n"
      "  - {name: app, backends: [{name: a, address: 127.0.0.1:9001}]}\n"
      "  - {name: app, backends: [{name: a, address: 127.0.0.1:9001}]}\n");
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:3:12: listeners[1].name: duplicate listener name 'web' (first at line 2)",
                                       "lbd.yaml:6:12: pools[1].name: duplicate pool name 'app' (first at line 5)"));
}

TEST(ConfigLoader, ListenerWithoutRoutes) {
  const LoadResult r = load(
      "listeners:\n"
      "  - {name: web, listen: 127.0.0.1:80}\n"
      "pools:\n"
      "  - {name: app, backends: [{name: a, address: 127.0.0.1:9001}]}\n");
  EXPECT_THAT(messages(r), ElementsAre("lbd.yaml:2:5: listeners[0].routes: is required"));
}

// The example configs shipped in conf/ must always load.
TEST(ConfigLoader, ExampleConfigsLoad) {
  const std::filesystem::path conf = std::filesystem::path(LBD_TEST_DATA_DIR) / ".." / ".." / ".." / "conf";
  int loaded = 0;
  std::error_code ec;
  const session::test::KeyFile key(std::string(32, 'k'));
  for (const auto& entry : std::filesystem::directory_iterator(conf, ec)) {
    if (entry.path().extension() != ".yaml") continue;
    // A sticky key is a per-machine secret the example cannot ship: its
    // secret_file is pointed at a test key.
    const LoadResult r = load_string(with_secret_files(entry.path().string(), key.path()), entry.path().string());
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
    // Nor may they teach a mistake (a route that never matches).
    for (const ConfigError& w : r.warnings) ADD_FAILURE() << w.to_string();
    ++loaded;
  }
  if (loaded == 0) GTEST_SKIP() << "no conf/*.yaml yet";
}

}  // namespace
}  // namespace lb::config
