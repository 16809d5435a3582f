#include "lb/proxy/router.h"

#include <gtest/gtest.h>

namespace lb::proxy {
namespace {

// Routes as build_snapshot resolves them: host lower-cased, pool as index.
ListenerRuntime listener(std::vector<RouteEntry> routes) {
  ListenerRuntime l;
  l.routes = std::move(routes);
  return l;
}

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

}  // namespace
}  // namespace lb::proxy
