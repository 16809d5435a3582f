#include "lb/proxy/route_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "route_fixture.h"

namespace lb::proxy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::snapshot_with_routes;

std::vector<uint32_t> list(std::span<const uint32_t> s) { return {s.begin(), s.end()}; }

TEST(RouteTable, IndexesExactWildcardAndHostlessRoutesInOrder) {
  const auto s = snapshot_with_routes(
      "      - {host: WWW.example.com, pool: a}\n"      // 0
      "      - {host: \"*.example.com\", pool: b}\n"    // 1
      "      - {pool: c}\n"                            // 2
      "      - {host: \"*.eu.example.com\", pool: a}\n" // 3
      "      - {host: www.example.com, pool: b}\n"      // 4
      "      - {host: \"*.com\", pool: c}\n"            // 5
      "      - {path_prefix: /x/, pool: a}\n");         // 6
  const RouteTable& t = s->listeners[0].routes;
  auto c = t.candidates("www.example.com");
  EXPECT_THAT(list(c.lists[0]), ElementsAre(0, 4));
  EXPECT_THAT(list(c.lists[1]), ElementsAre(1, 5));  // "example.com" and "com" both cover it
  EXPECT_THAT(list(c.lists[2]), ElementsAre(2, 6));
  c = t.candidates("a.eu.example.com");
  EXPECT_THAT(list(c.lists[0]), IsEmpty());
  EXPECT_THAT(list(c.lists[1]), ElementsAre(1, 3, 5));  // the longest suffix lists the shorter ones' routes
  c = t.candidates("eu.example.com");
  EXPECT_THAT(list(c.lists[1]), ElementsAre(1, 5));  // *.eu.example.com is not eu.example.com
  c = t.candidates("example.org");
  EXPECT_THAT(list(c.lists[0]), IsEmpty());
  EXPECT_THAT(list(c.lists[1]), IsEmpty());
  EXPECT_THAT(list(c.lists[2]), ElementsAre(2, 6));
  c = t.candidates("");
  EXPECT_THAT(list(c.lists[1]), IsEmpty());
  EXPECT_THAT(list(c.lists[2]), ElementsAre(2, 6));
}

TEST(RouteTable, LabelsAndPools) {
  const auto s = snapshot_with_routes(
      "      - {name: chat, pools: [{pool: v1, weight: 9}, {pool: v2, weight: 1}], split_by: client_ip}\n"
      "      - {redirect: {to: \"https://{host}{path}\"}}\n"
      "      - {pool: c}\n");
  const auto& routes = s->listeners[0].routes.routes();
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].label, "chat");
  ASSERT_EQ(routes[0].split.sides().size(), 2u);
  EXPECT_EQ(routes[0].split.sides()[0].pool, 3u);
  EXPECT_EQ(routes[0].split.sides()[1].weight, 1u);
  ASSERT_TRUE(routes[0].split.key());
  EXPECT_EQ(routes[0].split.key()->source, balance::HashKey::Source::client_ip);
  EXPECT_TRUE(routes[0].forwards());
  EXPECT_EQ(routes[1].label, "1");
  EXPECT_FALSE(routes[1].forwards());
  EXPECT_EQ(routes[2].pool, 2u);
  EXPECT_EQ(s->listeners[0].routes.find_label("chat"), &routes[0]);
  EXPECT_EQ(s->listeners[0].routes.find_label("nope"), nullptr);
}

}  // namespace
}  // namespace lb::proxy
