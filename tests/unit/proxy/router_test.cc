#include "lb/proxy/router.h"

#include <gtest/gtest.h>

#include "route_fixture.h"

namespace lb::proxy {
namespace {

using testing::Req;
using testing::route_of;
using testing::snapshot_with_routes;

// The first round's routes, {host, path_prefix, pool}: these tests are
// the first round's, unchanged but for this helper, which now writes the
// routes as YAML and answers the matched route's pool index.
struct RouteEntry {
  std::string host;
  std::string path_prefix;
  size_t pool;
};

struct Listener {
  std::shared_ptr<const Snapshot> snap;
};

Listener listener(std::vector<RouteEntry> routes) {
  static const char* kPools[] = {"a", "b", "c", "v1", "v2"};
  std::string yaml;
  for (const RouteEntry& r : routes) {
    yaml += "      - {pool: " + std::string(kPools[r.pool]);
    if (!r.host.empty()) yaml += ", host: \"" + r.host + "\"";
    if (!r.path_prefix.empty()) yaml += ", path_prefix: \"" + r.path_prefix + "\"";
    yaml += "}\n";
  }
  if (routes.empty()) yaml = "      - {pool: a, host: never.invalid}\n";
  Listener l{snapshot_with_routes(yaml)};
  if (routes.empty()) EXPECT_EQ(l.snap->listeners[0].routes.routes().size(), 1u);
  return l;
}

std::optional<size_t> route_request(const Listener& l, std::string_view host, std::string_view target) {
  RouteRequest rq;
  rq.host_header = host;
  rq.target = target;
  rq.method = "GET";
  const CompiledRoute* r = proxy::route_request(l.snap->listeners.at(0), rq);
  if (!r) return std::nullopt;
  return r->pool;
}

using ListenerRuntime = Listener;

TEST(RouterRoute, HostMatchIsCaseInsensitiveAndIgnoresThePort) {
  const ListenerRuntime l = listener({{"api.example.com", "", 1}, {"", "", 0}});
  EXPECT_EQ(route_request(l, "api.example.com", "/"), 1u);
  EXPECT_EQ(route_request(l, "API.Example.COM", "/"), 1u);
  EXPECT_EQ(route_request(l, "api.example.com:8080", "/"), 1u);
  EXPECT_EQ(route_request(l, "www.example.com", "/"), 0u);
  EXPECT_EQ(route_request(l, "api.example.com.evil", "/"), 0u);
  EXPECT_EQ(route_request(l, "", "/"), 0u);
}

TEST(RouterRoute, Ipv6LiteralHost) {
  const ListenerRuntime l = listener({{"[::1]", "", 1}, {"", "", 0}});
  EXPECT_EQ(route_request(l, "[::1]:8080", "/"), 1u);
  EXPECT_EQ(route_request(l, "[::1]", "/"), 1u);
  EXPECT_EQ(route_request(l, "[::2]:8080", "/"), 0u);
}

TEST(RouterRoute, PathPrefix) {
  const ListenerRuntime l = listener({{"", "/v1/", 1}, {"", "/static", 2}, {"", "", 0}});
  EXPECT_EQ(route_request(l, "x", "/v1/users?id=3"), 1u);
  EXPECT_EQ(route_request(l, "x", "/v1/"), 1u);
  EXPECT_EQ(route_request(l, "x", "/v1"), 0u);
  EXPECT_EQ(route_request(l, "x", "/v2/users"), 0u);
  EXPECT_EQ(route_request(l, "x", "/static.css"), 2u);
  EXPECT_EQ(route_request(l, "x", "/V1/users"), 0u);  // paths are case-sensitive
}

TEST(RouterRoute, HostAndPrefixMustBothMatch) {
  const ListenerRuntime l = listener({{"api.example.com", "/v1/", 1}, {"", "", 0}});
  EXPECT_EQ(route_request(l, "api.example.com", "/v1/x"), 1u);
  EXPECT_EQ(route_request(l, "api.example.com", "/v2/x"), 0u);
  EXPECT_EQ(route_request(l, "www.example.com", "/v1/x"), 0u);
}

TEST(RouterRoute, FirstMatchWins) {
  const ListenerRuntime l = listener({{"", "/api/", 3}, {"", "/api/v1/", 4}, {"", "", 0}});
  EXPECT_EQ(route_request(l, "x", "/api/v1/users"), 3u);
}

TEST(RouterRoute, NoMatchingRoute) {
  const ListenerRuntime l = listener({{"api.example.com", "", 1}, {"", "/v1/", 2}});
  EXPECT_EQ(route_request(l, "www.example.com", "/v2/"), std::nullopt);
  EXPECT_EQ(route_request(listener({}), "x", "/"), std::nullopt);
}

TEST(RouterRoute, AbsoluteFormTargetMatchesOnItsPath) {
  const ListenerRuntime l = listener({{"", "/v1/", 1}, {"", "/", 2}});
  EXPECT_EQ(route_request(l, "api.example.com", "http://api.example.com/v1/users"), 1u);
  EXPECT_EQ(route_request(l, "api.example.com", "https://api.example.com:8443/v1/users"), 1u);
  EXPECT_EQ(route_request(l, "api.example.com", "http://api.example.com/v2/users"), 2u);
  // No path at all is the root path.
  EXPECT_EQ(route_request(l, "api.example.com", "http://api.example.com"), 2u);
}

// RFC 9112 §3.2.2: for an absolute-form target the recipient MUST ignore the
// Host header and use the target's authority; otherwise a client can send a
// request for one site down another site's pool.
TEST(RouterRoute, AbsoluteFormAuthorityOverridesHostHeader) {
  const ListenerRuntime l = listener({{"api.example.com", "", 1}, {"admin.example.com", "", 2}});
  EXPECT_EQ(route_request(l, "admin.example.com", "http://api.example.com/v1/users"), 1u);
  EXPECT_EQ(route_request(l, "api.example.com", "http://Admin.Example.com:80/"), 2u);
}

// Issue 12, defect 10: `/v1/../admin` matched `/v1/` while the backend read
// `/admin`. The parser normalises targets; one that is not normalised must
// not be steered into a prefix route by its raw text.
TEST(RouterRoute, UnnormalisedPathMatchesNoPrefix) {
  const ListenerRuntime l = listener({{"", "/v1/", 1}, {"", "", 0}});
  EXPECT_EQ(route_request(l, "x", "/v1/../admin"), 0u);
  EXPECT_EQ(route_request(l, "x", "/v1//x"), 0u);
  EXPECT_EQ(route_request(l, "x", "/v1/%61"), 0u);
  EXPECT_EQ(route_request(l, "x", "http://x/v1/../admin"), 0u);
  EXPECT_EQ(route_request(listener({{"", "/v1/", 1}}), "x", "/v1/./a"), std::nullopt);
  EXPECT_EQ(route_request(l, "x", "/v1/a?next=/../b"), 1u);  // the query is not the path
}

// ---- second round: every match field, table-driven --------------------

struct Case {
  const char* what;
  Req req;
  const char* expected;  // route label, "-" = no route (404)
};

void expect_routes(const Snapshot& s, const std::vector<Case>& cases) {
  for (const Case& c : cases) EXPECT_EQ(route_of(s, c.req), c.expected) << c.what;
}

TEST(RouterMatch, WildcardHosts) {
  const auto s = snapshot_with_routes(
      "      - {name: exact, host: www.example.com, pool: a}\n"
      "      - {name: deep, host: \"*.eu.example.com\", pool: b}\n"
      "      - {name: wild, host: \"*.Example.com\", pool: c}\n"
      "      - {name: other, host: \"*.example.org\", path_prefix: /x/, pool: a}\n");
  expect_routes(*s, {
      {"exact host", {.host = "www.example.com"}, "exact"},
      {"subdomain", {.host = "api.example.com"}, "wild"},
      {"case and port", {.host = "API.EXAMPLE.COM:8443"}, "wild"},
      {"two levels", {.host = "a.b.example.com"}, "wild"},
      {"both wildcards match: the earlier route wins", {.host = "x.eu.example.com"}, "deep"},
      {"the bare domain is not under its wildcard", {.host = "example.com"}, "-"},
      {"a look-alike suffix", {.host = "badexample.com"}, "-"},
      {"trailing dot", {.host = "api.example.com."}, "wild"},
      {"wildcard plus path", {.host = "a.example.org", .target = "/x/1"}, "other"},
      {"wildcard, path misses", {.host = "a.example.org", .target = "/y"}, "-"},
  });
}

TEST(RouterMatch, WildcardOrderAgainstEarlierAnyHostRoute) {
  // Candidates come from three lists; route order must still win.
  const auto s = snapshot_with_routes(
      "      - {name: api, path_prefix: /api/, pool: a}\n"
      "      - {name: wild, host: \"*.example.com\", pool: b}\n"
      "      - {name: exact, host: www.example.com, pool: c}\n"
      "      - {name: rest, pool: a}\n");
  expect_routes(*s, {
      {"any-host route before the wildcard", {.host = "www.example.com", .target = "/api/x"}, "api"},
      {"wildcard before the exact host", {.host = "www.example.com", .target = "/"}, "wild"},
      {"catch-all last", {.host = "other.org"}, "rest"},
  });
}

TEST(RouterMatch, PathExactAndRegex) {
  const auto s = snapshot_with_routes(
      "      - {name: health, path_exact: /healthz, pool: a}\n"
      "      - {name: versioned, path_regex: \"^/v[0-9]+/\", pool: b}\n"
      "      - {name: images, path_regex: \"\\\\.(png|jpg)$\", pool: c}\n");
  expect_routes(*s, {
      {"exact", {.target = "/healthz"}, "health"},
      {"exact ignores the query", {.target = "/healthz?full=1"}, "health"},
      {"exact is not a prefix", {.target = "/healthz/x"}, "-"},
      {"regex anchored", {.target = "/v12/users"}, "versioned"},
      {"regex anchored at start", {.target = "/api/v1/users"}, "-"},
      {"regex searches", {.target = "/a/b/logo.png"}, "images"},
      {"regex sees no query", {.target = "/a?x=.png"}, "-"},
      {"unnormalised path matches no regex", {.target = "/v1/../v2/x"}, "-"},
  });
}

TEST(RouterMatch, MethodsHeadersAndNetworks) {
  const auto s = snapshot_with_routes(
      "      - {name: write, methods: [POST, PUT], path_prefix: /api/, pool: a}\n"
      "      - {name: llama, headers: {X-Model: llama-3}, pool: b}\n"
      "      - {name: gpt, headers: {x-model: \"~^gpt-4(o|-turbo)?$\"}, pool: c}\n"
      "      - {name: debug, headers: {X-Debug: \"*\", X-Team: core}, pool: a}\n"
      "      - {name: office, client_cidr: [10.0.0.0/8, \"fd00::/8\"], pool: v1}\n");
  expect_routes(*s, {
      {"method listed", {.target = "/api/x", .method = "POST", .client = "\x01\x01\x01\x01"}, "write"},
      {"method not listed", {.target = "/api/x", .method = "GET", .client = "\x01\x01\x01\x01"}, "-"},
      {"exact header", {.headers = {{"X-Model", "llama-3"}}, .client = "\x01\x01\x01\x01"}, "llama"},
      {"exact value is case-sensitive", {.headers = {{"X-Model", "Llama-3"}}, .client = "\x01\x01\x01\x01"}, "-"},
      {"header name any case", {.headers = {{"x-MODEL", "llama-3"}}, .client = "\x01\x01\x01\x01"}, "llama"},
      {"regex header", {.headers = {{"X-Model", "gpt-4o"}}, .client = "\x01\x01\x01\x01"}, "gpt"},
      {"regex header anchored", {.headers = {{"X-Model", "gpt-4o-mini"}}, .client = "\x01\x01\x01\x01"}, "-"},
      {"second field of a name", {.headers = {{"X-Model", "x"}, {"X-Model", "gpt-4"}}, .client = "\x01\x01\x01\x01"}, "gpt"},
      {"present with any value", {.headers = {{"X-Debug", ""}, {"X-Team", "core"}}, .client = "\x01\x01\x01\x01"}, "debug"},
      {"every header condition", {.headers = {{"X-Debug", "1"}}, .client = "\x01\x01\x01\x01"}, "-"},
      {"IPv4 network", {}, "office"},
      {"IPv4 outside", {.client = "\x0b\x01\x02\x03"}, "-"},
      {"IPv4-mapped IPv6 client", {.client = std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\x00\x00\x01", 16)}, "office"},
      {"IPv6 network", {.client = std::string("\xfd\x12", 2) + std::string(14, '\0')}, "office"},
      {"IPv6 outside", {.client = std::string("\xfe\x80", 2) + std::string(14, '\0')}, "-"},
      {"no client address", {.client = ""}, "-"},
  });
}

TEST(RouterMatch, UnnamedRoutesAreKnownByIndex) {
  const auto s = snapshot_with_routes("      - {path_prefix: /a/, pool: a}\n      - {name: b, pool: b}\n      - {pool: c}\n");
  expect_routes(*s, {{"index", {.target = "/a/1"}, "0"}, {"name", {.target = "/b"}, "b"}});
}

TEST(RouterMatch, HostileRequests) {
  const auto s = snapshot_with_routes(
      "      - {name: wild, host: \"*.example.com\", pool: a}\n"
      "      - {name: re, headers: {X-Model: \"~(a+)+$\"}, pool: b}\n"
      "      - {name: rest, path_prefix: /, pool: c}\n");
  // A host longer than any name a route can hold routes as no host at all.
  const std::string long_host = std::string(300, 'a') + ".example.com";
  EXPECT_EQ(route_of(*s, {.host = long_host}), "rest");
  // Many labels: one map lookup each, and still the wildcard.
  std::string labels;
  for (int i = 0; i < 100; ++i) labels += "x.";
  EXPECT_EQ(route_of(*s, {.host = labels + "example.com"}), "wild");
  // A backtracking engine takes exponential time on this; RE2 is linear.
  EXPECT_EQ(route_of(*s, {.host = "h", .headers = {{"X-Model", std::string(20000, 'a') + "!"}}}), "rest");
  EXPECT_EQ(route_of(*s, {.host = "h", .headers = {{"X-Model", std::string(20000, 'a')}}}), "re");
  // Bytes that are not text.
  EXPECT_EQ(route_of(*s, {.host = std::string("a\0.example.com", 14)}), "wild");
  EXPECT_EQ(route_of(*s, {.host = "\xff\xfe.example.com"}), "wild");
  EXPECT_EQ(route_of(*s, {.host = "h", .target = "*"}), "-");  // OPTIONS *: no path, no path route
}

TEST(RouterSplit, KeyedSplitKeepsEachKeyOnItsSide) {
  const auto s = snapshot_with_routes(
      "      - {name: chat, pools: [{pool: v1, weight: 90}, {pool: v2, weight: 10}], split_by: \"cookie:uid\"}\n");
  const CompiledRoute& r = s->listeners[0].routes.routes()[0];
  const size_t v1 = 3, v2 = 4;
  size_t on_v2 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    http::HeaderList h;
    h.add("Cookie", "a=b; uid=user" + std::to_string(i));
    RouteRequest rq;
    rq.target = "/";
    rq.headers = &h;
    const size_t first = choose_pool(r, rq, uint64_t(i) * 7919);
    ASSERT_TRUE(first == v1 || first == v2);
    on_v2 += first == v2;
    // The random draw does not move a keyed request.
    ASSERT_EQ(choose_pool(r, rq, uint64_t(i) * 104729 + 1), first) << "key " << i;
  }
  EXPECT_NEAR(double(on_v2) / n, 0.10, 0.01);
}

TEST(RouterSplit, MissingKeyAndRandomSplitFollowTheDraw) {
  const auto s = snapshot_with_routes(
      "      - {name: h, path_prefix: /h, pools: [{pool: v1, weight: 1}, {pool: v2, weight: 1}], split_by: \"header:X-User\"}\n"
      "      - {name: r, pools: [{pool: v1, weight: 3}, {pool: v2, weight: 1}]}\n");
  const CompiledRoute& keyed = s->listeners[0].routes.routes()[0];
  const CompiledRoute& random = s->listeners[0].routes.routes()[1];
  RouteRequest rq;
  rq.target = "/";
  size_t keyed_v2 = 0, random_v2 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const uint64_t draw = uint64_t(i) * 0x9e3779b97f4a7c15ULL;
    keyed_v2 += choose_pool(keyed, rq, draw) == 4;  // no X-User: drawn, not all on one side
    random_v2 += choose_pool(random, rq, draw) == 4;
  }
  EXPECT_NEAR(double(keyed_v2) / n, 0.5, 0.02);
  EXPECT_NEAR(double(random_v2) / n, 0.25, 0.02);
}

}  // namespace
}  // namespace lb::proxy
