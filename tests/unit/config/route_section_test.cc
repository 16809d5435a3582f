// Route entries as the loader reads them: every field, and the errors an
// operator gets for a bad one (FILE:LINE:COL: key: message).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <re2/re2.h>

#include "lb/config/loader.h"

namespace lb::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Line 4 holds the routes (`    routes:` is line 3, the first entry line 4).
std::string with_routes(const std::string& entries) {
  return "listeners:\n  - {name: web, listen: 127.0.0.1:8080,\n"
         "    routes:\n" +
         entries +
         "  }\n"
         "pools:\n"
         "  - {name: app, backends: [{name: a, address: 127.0.0.1:9001}]}\n"
         "  - {name: canary, backends: [{name: a, address: 127.0.0.1:9002}]}\n";
}

std::vector<std::string> errors_of(const std::string& entries) {
  std::vector<std::string> out;
  for (const auto& e : load_string(with_routes(entries), "lbd.yaml").errors) out.push_back(e.to_string());
  return out;
}

TEST(RouteSection, EveryFieldLoads) {
  const auto r = load_string(with_routes(R"(    [{name: chat, host: "*.Example.com", path_regex: "^/v[0-9]+/",
      methods: [GET, POST], headers: {X-Model: llama-3, X-Re: "~^a+$", X-Any: "*"},
      client_cidr: [10.0.0.0/8, "fd00::/8", 192.0.2.1],
      pools: [{pool: app, weight: 90}, {pool: canary, weight: 10}], split_by: "cookie:uid",
      strip_prefix: /api, add_prefix: /v2/,
      request_headers: {set: {X-Tenant: acme}, add: {X-A: b}, remove: [X-Debug]},
      response_headers: {set: {Strict-Transport-Security: "max-age=63072000"}, remove: [Server]},
      timeouts: {response: 600s}},
     {redirect: {to: "https://{host}{path}{query}", status: 308}},
     {respond: {status: 503, body: "down\n", content_type: text/html}}]
)"),
                            "lbd.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
  const auto& routes = r.config->listeners[0].routes;
  ASSERT_EQ(routes.size(), 3u);
  const Route& c = routes[0];
  EXPECT_EQ(c.name, "chat");
  EXPECT_EQ(c.host, "*.Example.com");
  ASSERT_TRUE(c.path_re);
  EXPECT_TRUE(re2::RE2::PartialMatch("/v12/x", *c.path_re));
  EXPECT_THAT(c.methods, ElementsAre("GET", "POST"));
  ASSERT_EQ(c.headers.size(), 3u);
  EXPECT_EQ(c.headers[0].kind, HeaderMatch::Kind::exact);
  EXPECT_EQ(c.headers[1].kind, HeaderMatch::Kind::regex);
  EXPECT_EQ(c.headers[1].value, "^a+$");
  EXPECT_EQ(c.headers[2].kind, HeaderMatch::Kind::present);
  ASSERT_EQ(c.client_cidr.size(), 3u);
  EXPECT_EQ(c.client_cidr[0].bytes[0], 10);
  EXPECT_EQ(c.client_cidr[0].bytes[1], 0);
  EXPECT_EQ(c.client_cidr[0].prefix, 8);
  EXPECT_EQ(c.client_cidr[1].length, 16);
  EXPECT_EQ(c.client_cidr[2].prefix, 32);
  EXPECT_EQ(c.action, RouteAction::split);
  ASSERT_EQ(c.pools.size(), 2u);
  EXPECT_EQ(c.pools[1].weight, 10u);
  EXPECT_EQ(c.split_by, "cookie:uid");
  EXPECT_EQ(c.path_rewrite.strip_prefix, "/api");
  EXPECT_EQ(c.path_rewrite.add_prefix, "/v2/");
  EXPECT_EQ(c.request_headers.set.front().second, "acme");
  EXPECT_THAT(c.request_headers.remove, ElementsAre("X-Debug"));
  EXPECT_THAT(c.response_headers.remove, ElementsAre("Server"));
  EXPECT_EQ(c.response_timeout, std::chrono::seconds(600));
  EXPECT_EQ(routes[1].action, RouteAction::redirect);
  EXPECT_EQ(routes[1].redirect.status, 308);
  EXPECT_EQ(routes[2].respond.status, 503);
  EXPECT_EQ(routes[2].respond.content_type, "text/html");
}

TEST(RouteSection, BadRegexNamesItsPlaceAndKey) {
  EXPECT_THAT(errors_of("    [{path_regex: \"^/(v1\", pool: app}]\n"),
              ElementsAre("lbd.yaml:4:19: listeners[0].routes[0].path_regex: invalid regular expression '^/(v1': "
                          "missing ): ^/(v1"));
  EXPECT_THAT(errors_of("    [{headers: {X-Model: \"~[a-\"}, pool: app}]\n"),
              ElementsAre(HasSubstr("lbd.yaml:4:26: listeners[0].routes[0].headers.X-Model: invalid regular "
                                    "expression '[a-': missing ]")));
}

TEST(RouteSection, ActionProblems) {
  EXPECT_THAT(errors_of("    [{host: a.example}]\n"),
              ElementsAre("lbd.yaml:4:6: listeners[0].routes[0]: a route needs one of pool, pools, redirect, respond"));
  EXPECT_THAT(errors_of("    [{pool: app, respond: {status: 200}}]\n"),
              ElementsAre("lbd.yaml:4:27: listeners[0].routes[0].respond: a route takes one action; it already has "
                          "'pool'"));
  EXPECT_THAT(errors_of("    [{pools: [{pool: app, weight: 0}, {pool: nope, weight: 1}]}]\n"),
              ElementsAre("lbd.yaml:4:46: listeners[0].routes[0].pools[1].pool: unknown pool 'nope'"));
  EXPECT_THAT(errors_of("    [{pools: [{pool: app, weight: 0}]}]\n"),
              ElementsAre("lbd.yaml:4:14: listeners[0].routes[0].pools: the weights must not all be 0"));
  EXPECT_THAT(errors_of("    [{pool: app, split_by: client_ip}]\n"),
              ElementsAre("lbd.yaml:4:28: listeners[0].routes[0].split_by: applies only to routes with pools"));
  EXPECT_THAT(errors_of("    [{pools: [{pool: app, weight: 1}], split_by: uri}]\n"),
              ElementsAre(HasSubstr("split_by: must be random, client_ip, header:NAME or cookie:NAME")));
  EXPECT_THAT(errors_of("    [{redirect: {to: \"https://{hots}/\"}}]\n"),
              ElementsAre(HasSubstr("redirect.to: unknown placeholder '{hots}'")));
  EXPECT_THAT(errors_of("    [{redirect: {to: /x, status: 304}}]\n"),
              ElementsAre(HasSubstr("redirect.status: must be 301, 302, 303, 307 or 308")));
  EXPECT_THAT(errors_of("    [{respond: {status: 503}, strip_prefix: /a}]\n"),
              ElementsAre(HasSubstr("routes[0].strip_prefix: applies only to routes with pool or pools")));
}

TEST(RouteSection, MatchFieldProblems) {
  EXPECT_THAT(errors_of("    [{path_prefix: /a, path_exact: /b, pool: app}]\n"),
              ElementsAre(HasSubstr("path_exact: only one of path_prefix, path_exact, path_regex may be given")));
  EXPECT_THAT(errors_of("    [{host: \"a.*.com\", pool: app}]\n"),
              ElementsAre(HasSubstr("host: '*' is allowed only as a leading \"*.\" wildcard")));
  EXPECT_THAT(errors_of("    [{host: \"a.com:80\", pool: app}]\n"), ElementsAre(HasSubstr("host: must not carry a port")));
  EXPECT_THAT(errors_of("    [{methods: [get], pool: app}]\n"),
              ElementsAre(HasSubstr("methods[0]: methods are case-sensitive: write 'GET'")));
  EXPECT_THAT(errors_of("    [{client_cidr: [10.0.0.0/33], pool: app}]\n"),
              ElementsAre(HasSubstr("client_cidr[0]: prefix length must be 0..32")));
  EXPECT_THAT(errors_of("    [{client_cidr: [example.com], pool: app}]\n"),
              ElementsAre(HasSubstr("client_cidr[0]: 'example.com' is not an IPv4 or IPv6 address")));
  EXPECT_THAT(errors_of("    [{headers: {\"X Bad\": a}, pool: app}]\n"), ElementsAre(HasSubstr("is not a valid header name")));
  EXPECT_THAT(errors_of("    [{name: a, pool: app}, {name: a, pool: app}]\n"),
              ElementsAre(HasSubstr("routes[1].name: duplicate route name 'a'")));
  EXPECT_THAT(errors_of("    [{name: \"12\", pool: app}]\n"), ElementsAre(HasSubstr("not only digits")));
}

TEST(RouteSection, RewriteProblems) {
  EXPECT_THAT(errors_of("    [{pool: app, strip_prefix: api}]\n"), ElementsAre(HasSubstr("strip_prefix: must start with '/'")));
  EXPECT_THAT(errors_of("    [{pool: app, add_prefix: \"/a/../b\"}]\n"),
              ElementsAre(HasSubstr("add_prefix: must be a normalised path")));
  EXPECT_THAT(errors_of("    [{pool: app, request_headers: {set: {Connection: close}}}]\n"),
              ElementsAre(HasSubstr("request_headers.set.Connection: 'Connection' is a hop-by-hop field")));
  EXPECT_THAT(errors_of("    [{pool: app, request_headers: {remove: [X-Forwarded-For]}}]\n"),
              ElementsAre(HasSubstr("'X-Forwarded-For' is set by lbd from the client connection")));
  EXPECT_THAT(errors_of("    [{pool: app, response_headers: {set: {Transfer-Encoding: chunked}}}]\n"),
              ElementsAre(HasSubstr("is a hop-by-hop field")));
  EXPECT_THAT(errors_of("    [{pool: app, request_headers: {remove: [host]}}]\n"),
              ElementsAre(HasSubstr("a request needs a Host")));
  EXPECT_THAT(errors_of("    [{pool: app, request_headers: {sett: {}}}]\n"), ElementsAre(HasSubstr("sett: unknown key")));
  EXPECT_THAT(errors_of("    [{pool: app, timeouts: {response: 0s}}]\n"),
              ElementsAre(HasSubstr("timeouts.response: must be greater than 0")));
}

}  // namespace
}  // namespace lb::config
