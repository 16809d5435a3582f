#include "lb/config/route_shadowing.h"

#include <gtest/gtest.h>

namespace lb::config {
namespace {

Route route(std::string host, std::string prefix, std::string exact = "") {
  Route r;
  r.host = std::move(host);
  r.path_prefix = std::move(prefix);
  r.path_exact = std::move(exact);
  r.pool = "app";
  return r;
}

TEST(RouteShadowing, WhatCoversWhat) {
  struct Case {
    const char* what;
    Route earlier, later;
    bool covered;
  };
  Route post = route("", "/a/");
  post.methods = {"POST"};
  Route post_put = post;
  post_put.methods = {"POST", "PUT"};
  Route model = route("", "");
  model.headers.push_back({"X-Model", HeaderMatch::Kind::exact, "llama", nullptr});
  Route any_model = route("", "");
  any_model.headers.push_back({"x-model", HeaderMatch::Kind::present, "", nullptr});
  Route net8 = route("", ""), net16 = route("", "");
  net8.client_cidr.push_back({{10}, 4, 8, "10.0.0.0/8"});
  net16.client_cidr.push_back({{10, 1}, 4, 16, "10.1.0.0/16"});
  const Case cases[] = {
      {"catch-all covers anything", route("", ""), post, true},
      {"same host, shorter prefix", route("A.com", "/api/"), route("a.com", "/api/v1/"), true},
      {"same host, prefix covers an exact path", route("a.com", "/api/"), route("a.com", "", "/api/x"), true},
      {"other host", route("a.com", "/api/"), route("b.com", "/api/v1/"), false},
      {"host-less later route", route("a.com", ""), route("", "/x"), false},
      {"longer prefix covers nothing shorter", route("", "/api/v1/"), route("", "/api/"), false},
      {"wildcard covers a subdomain", route("*.a.com", ""), route("x.y.a.com", ""), true},
      {"wildcard covers a narrower wildcard", route("*.a.com", ""), route("*.b.a.com", ""), true},
      {"wildcard does not cover the bare domain", route("*.a.com", ""), route("a.com", ""), false},
      {"methods: superset covers", post_put, post, true},
      {"methods: subset does not", post, post_put, false},
      {"methods: a listed set never covers all methods", post, route("", "/a/"), false},
      {"present covers an exact value", any_model, model, true},
      {"an exact value does not cover present", model, any_model, false},
      {"header-less later route", model, route("", ""), false},
      {"a /8 covers a /16 inside", net8, net16, true},
      {"a /16 does not cover a /8", net16, net8, false},
  };
  for (const Case& c : cases) EXPECT_EQ(covers(c.earlier, c.later), c.covered) << c.what;
}

TEST(RouteShadowing, ReportsTheFirstEarlierRouteThatCovers) {
  std::vector<Route> routes = {route("a.com", "/api/"), route("", ""), route("a.com", "/api/x/"), route("b.com", "")};
  routes[0].line = 5;
  routes[1].name = "all";
  routes[1].line = 6;
  const auto found = find_shadowed_routes(routes);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].route, 2u);
  EXPECT_EQ(found[0].by, 0u);
  EXPECT_EQ(found[0].message, "never matches: routes[0] at line 5 comes first and matches every request this one would");
  EXPECT_EQ(found[1].route, 3u);
  EXPECT_EQ(found[1].message, "never matches: routes[1] (all) at line 6 comes first and matches every request");
}

}  // namespace
}  // namespace lb::config
