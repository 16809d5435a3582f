#include "lb/http/header_rewrite.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "message_fixture.h"

namespace lb::http {
namespace {

using test::parse_request_head;
using test::parse_response_head;
using test::values_of;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const ForwardContext kContext{
    .client_ip = "10.0.0.9", .proto = "http", .backend_host = "10.1.1.1:9001", .request_id = "req-42"};

// What the backend receives for `client_wire`, parsed back by lbd's own
// request parser (so the result is also proven to be a valid request).
std::string forwarded_wire(std::string_view client_wire, const ForwardContext& ctx = kContext) {
  std::string out;
  write_upstream_request_head(parse_request_head(client_wire), ctx, out);
  return out;
}

RequestHead forwarded(std::string_view client_wire, const ForwardContext& ctx = kContext) {
  return parse_request_head(forwarded_wire(client_wire, ctx));
}

TEST(HttpHeaderRewrite, RequestLineIsHttp11WithTheOriginalTarget) {
  const std::string wire = forwarded_wire("DELETE /items/7?force=1 HTTP/1.0\r\n\r\n");
  EXPECT_EQ(wire.substr(0, wire.find("\r\n")), "DELETE /items/7?force=1 HTTP/1.1");
  EXPECT_EQ(wire.substr(wire.size() - 4), "\r\n\r\n");
}

TEST(HttpHeaderRewrite, HopByHopFieldsAreDropped) {
  const RequestHead h = forwarded(
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n"
      "Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: Expires\r\nUpgrade: h2c\r\n"
      "X-Secret: hunter2\r\nX-Kept: yes\r\n\r\n");
  for (const char* name : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade", "X-Secret"})
    EXPECT_EQ(h.headers.count(name), 0u) << name;
  EXPECT_EQ(h.headers.find("X-Kept"), "yes");
}

TEST(HttpHeaderRewrite, FieldsNamedByAnyConnectionHeaderAreDropped) {
  const RequestHead h = forwarded(
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: x-one\r\nConnection: X-TWO , close\r\n"
      "X-One: 1\r\nx-two: 2\r\nX-Three: 3\r\n\r\n");
  EXPECT_EQ(h.headers.count("x-one"), 0u);
  EXPECT_EQ(h.headers.count("x-two"), 0u);
  EXPECT_EQ(h.headers.find("x-three"), "3");
}

TEST(HttpHeaderRewrite, IsHopByHopConsultsConnectionTokens) {
  const RequestHead req = parse_request_head("GET / HTTP/1.1\r\nHost: x\r\nConnection: X-Trace\r\n\r\n");
  EXPECT_TRUE(is_hop_by_hop("transfer-encoding", req.headers));
  EXPECT_TRUE(is_hop_by_hop("x-trace", req.headers));
  EXPECT_FALSE(is_hop_by_hop("x-trace-id", req.headers));
  EXPECT_FALSE(is_hop_by_hop("host", req.headers));
}

TEST(HttpHeaderRewrite, XForwardedForStartsWithTheClientAddress) {
  EXPECT_THAT(values_of(forwarded("GET / HTTP/1.1\r\nHost: x\r\n\r\n").headers, "X-Forwarded-For"),
              ElementsAre("10.0.0.9"));
}

TEST(HttpHeaderRewrite, XForwardedForAppendsToAnExistingHeader) {
  EXPECT_THAT(values_of(forwarded("GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n").headers,
                        "X-Forwarded-For"),
              ElementsAre("1.1.1.1, 10.0.0.9"));
}

TEST(HttpHeaderRewrite, XForwardedForMergesSeveralHeadersInOrder) {
  const RequestHead h = forwarded(
      "GET / HTTP/1.1\r\nx-forwarded-for: 1.1.1.1, 2.2.2.2\r\nHost: x\r\nX-Forwarded-For: 3.3.3.3\r\n"
      "X-FORWARDED-FOR: 4.4.4.4\r\n\r\n");
  EXPECT_THAT(values_of(h.headers, "X-Forwarded-For"), ElementsAre("1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4, 10.0.0.9"));
}

TEST(HttpHeaderRewrite, ClientSentRealIpAndProtoDoNotSurvive) {
  const RequestHead h = forwarded(
      "GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nx-real-ip: 7.7.7.7\r\n\r\n");
  EXPECT_THAT(values_of(h.headers, "X-Real-IP"), ElementsAre("10.0.0.9"));
  EXPECT_THAT(values_of(h.headers, "X-Forwarded-Proto"), ElementsAre("http"));
}

TEST(HttpHeaderRewrite, ForwardedProtoFollowsTheListener) {
  ForwardContext tls = kContext;
  tls.proto = "https";
  EXPECT_THAT(values_of(forwarded("GET / HTTP/1.1\r\nHost: x\r\n\r\n", tls).headers, "X-Forwarded-Proto"),
              ElementsAre("https"));
}

TEST(HttpHeaderRewrite, HostIsPreserved) {
  const RequestHead h = forwarded("GET / HTTP/1.1\r\nHost: Shop.Example.com:8080\r\n\r\n");
  EXPECT_THAT(values_of(h.headers, "Host"), ElementsAre("Shop.Example.com:8080"));
}

// Issue 12, defect 10: the exchange writes the head before it picks a
// backend (ctx.backend_host empty), then adds the Host for each attempt.
TEST(HttpHeaderRewrite, BackendHostIsAddedPerAttemptWhenTheClientNamedNone) {
  ForwardContext ctx = kContext;
  ctx.backend_host = {};
  const RequestHead req = parse_request_head("GET /x HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(needs_backend_host(req));
  std::string head;
  write_upstream_request_head(req, ctx, head);
  EXPECT_THAT(values_of(parse_request_head(with_backend_host(head, "[::1]:9002")).headers, "Host"),
              ElementsAre("[::1]:9002"));
  EXPECT_EQ(with_backend_host(head, "b:1").substr(0, 28), "GET /x HTTP/1.1\r\nHost: b:1\r\n");
}

TEST(HttpHeaderRewrite, NoBackendHostNeededWhenTheClientNamedOne) {
  EXPECT_FALSE(needs_backend_host(parse_request_head("GET / HTTP/1.0\r\nHost: a\r\n\r\n")));
  EXPECT_FALSE(needs_backend_host(parse_request_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n")));
  EXPECT_FALSE(needs_backend_host(parse_request_head("GET http://a/ HTTP/1.0\r\n\r\n")));
}

// Issue 12, defect 10: only the first 8 names in Connection were dropped.
TEST(HttpHeaderRewrite, EveryFieldNamedInConnectionIsDropped) {
  std::string names, fields;
  for (size_t i = 0; i < kMaxConnectionOptions; ++i) {
    names += (i ? ", X-Opt-" : "X-Opt-") + std::to_string(i);
    fields += "X-Opt-" + std::to_string(i) + ": secret\r\n";
  }
  const RequestHead h = forwarded("GET / HTTP/1.1\r\nHost: x\r\nConnection: " + names + "\r\n" + fields + "\r\n");
  for (size_t i = 0; i < h.headers.size(); ++i) EXPECT_NE(h.headers.name(i).substr(0, 6), "X-Opt-") << h.headers.name(i);
  EXPECT_THAT(values_of(h.headers, "Host"), ElementsAre("x"));
}

// A head the parsers would refuse still drops every named field.
TEST(HttpHeaderRewrite, FieldsNamedPastTheCapAreDroppedAllTheSame) {
  HeaderList hs;
  std::string names;
  for (size_t i = 0; i < kMaxConnectionOptions + 10; ++i) names += "x-" + std::to_string(i) + ",";
  hs.add("Connection", names);
  EXPECT_EQ(count_connection_options(hs), kMaxConnectionOptions + 10);
  EXPECT_TRUE(is_hop_by_hop("X-" + std::to_string(kMaxConnectionOptions + 5), hs));
  EXPECT_FALSE(is_hop_by_hop("X-Other", hs));
}

TEST(HttpHeaderRewrite, ResponseFieldsNamedInConnectionAreDropped) {
  std::string names, fields;
  for (size_t i = 0; i < 20; ++i) {
    names += (i ? ", X-Opt-" : "X-Opt-") + std::to_string(i);
    fields += "X-Opt-" + std::to_string(i) + ": v\r\n";
  }
  const ResponseHead resp =
      parse_response_head("HTTP/1.1 200 OK\r\nConnection: " + names + "\r\n" + fields + "Content-Length: 0\r\n\r\n");
  std::string out;
  write_client_response_head(resp, BodyFraming::length, false, true, out);
  EXPECT_EQ(out.find("X-Opt-"), std::string::npos) << out;
}

TEST(HttpHeaderRewrite, Http10RequestWithoutHostGetsTheBackendAddress) {
  const RequestHead h = forwarded("GET / HTTP/1.0\r\n\r\n");
  EXPECT_THAT(values_of(h.headers, "Host"), ElementsAre("10.1.1.1:9001"));
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.minor, 1);
}

TEST(HttpHeaderRewrite, ChunkedRequestIsRedeclaredChunked) {
  const RequestHead h = forwarded("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(h.chunked);
  EXPECT_THAT(values_of(h.headers, "Transfer-Encoding"), ElementsAre("chunked"));
  EXPECT_EQ(h.headers.count("Content-Length"), 0u);
}

TEST(HttpHeaderRewrite, ContentLengthIsKept) {
  const RequestHead h = forwarded("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(h.content_length, 3u);
  EXPECT_EQ(h.headers.count("Transfer-Encoding"), 0u);
}

TEST(HttpHeaderRewrite, RequestIdAddedOnlyWhenAbsent) {
  EXPECT_THAT(values_of(forwarded("GET / HTTP/1.1\r\nHost: x\r\n\r\n").headers, "X-Request-Id"),
              ElementsAre("req-42"));
  EXPECT_THAT(
      values_of(forwarded("GET / HTTP/1.1\r\nHost: x\r\nx-request-id: from-client\r\n\r\n").headers, "X-Request-Id"),
      ElementsAre("from-client"));
  ForwardContext no_id = kContext;
  no_id.request_id = "";
  EXPECT_THAT(values_of(forwarded("GET / HTTP/1.1\r\nHost: x\r\n\r\n", no_id).headers, "X-Request-Id"), IsEmpty());
}

TEST(HttpHeaderRewrite, EndToEndFieldsKeepTheirOrderAndValues) {
  const RequestHead h = forwarded("GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n");
  EXPECT_THAT(values_of(h.headers, "Cookie"), ElementsAre("a=1", "b=2"));
  EXPECT_EQ(h.headers.find("Accept"), "*/*");
}

// --- response side ---------------------------------------------------------

RequestHead request(std::string_view version, std::string_view method = "GET") {
  const std::string host = version == "HTTP/1.1" ? "Host: x\r\n" : "";
  return parse_request_head(std::string(method) + " / " + std::string(version) + "\r\n" + host + "\r\n");
}

TEST(HttpHeaderRewrite, FramingForEachResponseAndClientVersion) {
  const RequestHead http10 = request("HTTP/1.0"), http11 = request("HTTP/1.1");
  const ResponseHead length = parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  const ResponseHead chunked = parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  const ResponseHead eof = parse_response_head("HTTP/1.1 200 OK\r\n\r\n");
  const ResponseHead no_content = parse_response_head("HTTP/1.1 204 No Content\r\n\r\n");
  const ResponseHead head = parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", true);

  EXPECT_EQ(choose_client_framing(http11, length), BodyFraming::length);
  EXPECT_EQ(choose_client_framing(http10, length), BodyFraming::length);
  EXPECT_EQ(choose_client_framing(http11, chunked), BodyFraming::chunked);
  EXPECT_EQ(choose_client_framing(http10, chunked), BodyFraming::close);
  EXPECT_EQ(choose_client_framing(http11, eof), BodyFraming::chunked);
  EXPECT_EQ(choose_client_framing(http10, eof), BodyFraming::close);
  EXPECT_EQ(choose_client_framing(http11, no_content), BodyFraming::none);
  EXPECT_EQ(choose_client_framing(http10, no_content), BodyFraming::none);
  EXPECT_EQ(choose_client_framing(request("HTTP/1.1", "HEAD"), head), BodyFraming::none);
}

std::string client_head(std::string_view backend_wire, BodyFraming framing, bool client_http10, bool keep_alive) {
  std::string out;
  write_client_response_head(parse_response_head(backend_wire), framing, client_http10, keep_alive, out);
  return out;
}

TEST(HttpHeaderRewrite, KeepAliveHttp11ClientGetsNoConnectionField) {
  const std::string out =
      client_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-App: a\r\n\r\nabc", BodyFraming::length, false, true);
  EXPECT_EQ(out.substr(0, out.find("\r\n")), "HTTP/1.1 200 OK");
  const ResponseHead h = parse_response_head(out + "abc");
  EXPECT_EQ(h.headers.count("Connection"), 0u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.content_length, 3u);
  EXPECT_EQ(h.headers.find("X-App"), "a");
}

TEST(HttpHeaderRewrite, NotKeepingAliveSaysConnectionClose) {
  const ResponseHead h =
      parse_response_head(client_head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", BodyFraming::length, false, false));
  EXPECT_THAT(values_of(h.headers, "Connection"), ElementsAre("close"));
  EXPECT_FALSE(h.keep_alive);
}

TEST(HttpHeaderRewrite, KeepAliveHttp10ClientIsToldKeepAlive) {
  const ResponseHead h =
      parse_response_head(client_head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", BodyFraming::length, true, true));
  EXPECT_THAT(values_of(h.headers, "Connection"), ElementsAre("keep-alive"));
}

TEST(HttpHeaderRewrite, CloseFramingAlwaysSaysConnectionClose) {
  const std::string out = client_head("HTTP/1.1 200 OK\r\n\r\n", BodyFraming::close, true, true);
  const ResponseHead h = parse_response_head(out);
  EXPECT_THAT(values_of(h.headers, "Connection"), ElementsAre("close"));
  EXPECT_EQ(h.headers.count("Content-Length"), 0u);
  EXPECT_EQ(h.headers.count("Transfer-Encoding"), 0u);
}

TEST(HttpHeaderRewrite, BackendConnectionFieldsAreNotPassedOn) {
  const ResponseHead h = parse_response_head(
      client_head("HTTP/1.1 200 OK\r\nConnection: close, X-Internal\r\nKeep-Alive: timeout=5\r\nX-Internal: 1\r\n"
                  "Content-Length: 0\r\n\r\n",
                  BodyFraming::length, false, true));
  EXPECT_EQ(h.headers.count("Connection"), 0u);
  EXPECT_EQ(h.headers.count("Keep-Alive"), 0u);
  EXPECT_EQ(h.headers.count("X-Internal"), 0u);
  EXPECT_TRUE(h.keep_alive);
}

TEST(HttpHeaderRewrite, RechunkedResponseDeclaresChunkedOnceAndNoLength) {
  const std::string out = client_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n",
                                      BodyFraming::chunked, false, true);
  const ResponseHead h = parse_response_head(out + "0\r\n\r\n");
  EXPECT_THAT(values_of(h.headers, "Transfer-Encoding"), ElementsAre("chunked"));
  EXPECT_EQ(h.headers.count("Content-Length"), 0u);
  EXPECT_EQ(h.headers.find("Content-Type"), "text/plain");
}

TEST(HttpHeaderRewrite, ContentLengthKeptForHeadAndNotModified) {
  const ResponseHead h = parse_response_head(
      client_head("HTTP/1.1 304 Not Modified\r\nContent-Length: 120\r\nETag: \"v1\"\r\n\r\n", BodyFraming::none, false,
                  true));
  EXPECT_EQ(h.status, 304);
  EXPECT_EQ(h.reason, "Not Modified");
  EXPECT_EQ(h.content_length, 120u);
  EXPECT_EQ(h.headers.find("ETag"), "\"v1\"");
  EXPECT_EQ(h.headers.count("Transfer-Encoding"), 0u);
}

TEST(HttpHeaderRewrite, Http10BackendResponseGoesOutAsHttp11) {
  const std::string out = client_head("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", BodyFraming::length, false, true);
  EXPECT_EQ(out.substr(0, out.find("\r\n")), "HTTP/1.1 404 Not Found");
}

TEST(HttpHeaderRewrite, StripCookieRemovesOnlyThatCookie) {
  ForwardContext sticky = kContext;
  sticky.strip_cookie = "LB";
  const RequestHead h = forwarded(
      "GET / HTTP/1.1\r\nHost: x\r\nCookie: sid=abc; LB=pin; theme=dark\r\nCookie: LB=again\r\n"
      "Cookie: other=1;x=2\r\n\r\n",
      sticky);
  EXPECT_THAT(values_of(h.headers, "Cookie"), ElementsAre("sid=abc; theme=dark", "other=1;x=2"));
}

TEST(HttpHeaderRewrite, WithoutStripCookieEveryCookiePasses) {
  const RequestHead h = forwarded("GET / HTTP/1.1\r\nHost: x\r\nCookie: LB=pin;  sid=abc\r\n\r\n");
  EXPECT_THAT(values_of(h.headers, "Cookie"), ElementsAre("LB=pin;  sid=abc"));
}


// ---- a route's rewrites, applied in the same pass ----------------------


TEST(HttpHeaderRewrite, RouteRequestEditsSetAddAndRemove) {
  HeaderEdits e;
  e.set = {{"X-Tenant", "acme"}};
  e.add = {{"X-Tag", "b"}};
  e.remove = {"X-Debug"};
  ForwardContext ctx = kContext;
  ctx.edits = &e;
  const RequestHead h = forwarded(
      "GET / HTTP/1.1\r\nHost: x\r\nx-tenant: evil\r\nX-Debug: 1\r\nx-debug: 2\r\nX-Tag: a\r\n\r\n", ctx);
  EXPECT_THAT(values_of(h.headers, "X-Tenant"), ElementsAre("acme"));
  EXPECT_THAT(values_of(h.headers, "X-Debug"), IsEmpty());
  EXPECT_THAT(values_of(h.headers, "X-Tag"), ElementsAre("a", "b"));
  EXPECT_EQ(h.headers.find("Host"), "x");
}

TEST(HttpHeaderRewrite, HopByHopRulesStillWinOverRouteEdits) {
  // A field the client's Connection names is dropped even when the route
  // would keep it; the route's own fields are still sent, once.
  HeaderEdits e;
  e.add = {{"X-Hop", "route"}};
  ForwardContext ctx = kContext;
  ctx.edits = &e;
  const RequestHead h = forwarded("GET / HTTP/1.1\r\nHost: x\r\nConnection: X-Hop\r\nX-Hop: client\r\n\r\n", ctx);
  EXPECT_THAT(values_of(h.headers, "X-Hop"), ElementsAre("route"));
  EXPECT_THAT(values_of(h.headers, "X-Forwarded-For"), ElementsAre("10.0.0.9"));
}

TEST(HttpHeaderRewrite, RouteSetsHostOnceEvenForAbsoluteForm) {
  HeaderEdits e;
  e.set = {{"Host", "internal.svc"}};
  ForwardContext ctx = kContext;
  ctx.edits = &e;
  const RequestHead h = forwarded("GET http://public.example/a HTTP/1.1\r\nHost: public.example\r\n\r\n", ctx);
  EXPECT_THAT(values_of(h.headers, "Host"), ElementsAre("internal.svc"));
  EXPECT_EQ(h.url, "/a");
}

TEST(HttpHeaderRewrite, RewrittenOriginReplacesTheTarget) {
  ForwardContext ctx = kContext;
  ctx.origin = "/v2/users?id=3";
  const std::string wire = forwarded_wire("GET http://h/api/users?id=3 HTTP/1.1\r\nHost: h\r\n\r\n", ctx);
  EXPECT_EQ(wire.substr(0, wire.find("\r\n")), "GET /v2/users?id=3 HTTP/1.1");
  EXPECT_THAT(values_of(parse_request_head(wire).headers, "Host"), ElementsAre("h"));
}

TEST(HttpHeaderRewrite, RouteResponseEdits) {
  HeaderEdits e;
  e.set = {{"Strict-Transport-Security", "max-age=63072000"}};
  e.remove = {"Server"};
  const ResponseHead resp = parse_response_head(
      "HTTP/1.1 200 OK\r\nServer: gunicorn\r\nStrict-Transport-Security: max-age=1\r\nContent-Length: 2\r\n\r\n");
  std::string out;
  write_client_response_head(resp, BodyFraming::length, false, true, out, &e);
  const ResponseHead h = parse_response_head(out);
  EXPECT_THAT(values_of(h.headers, "Server"), IsEmpty());
  EXPECT_THAT(values_of(h.headers, "Strict-Transport-Security"), ElementsAre("max-age=63072000"));
  EXPECT_THAT(values_of(h.headers, "Content-Length"), ElementsAre("2"));
}


}  // namespace
}  // namespace lb::http
