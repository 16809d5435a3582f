#include "lb/http/upgrade.h"

#include <gtest/gtest.h>

#include <string>

#include "lb/http/header_rewrite.h"
#include "message_fixture.h"

namespace lb::http {
namespace {

using test::parse_request_head;
using test::parse_response_head;

constexpr std::string_view kHandshake =
    "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

TEST(HttpUpgrade, WebSocketHandshakeIsForwarded) {
  EXPECT_EQ(forwarded_upgrade(parse_request_head(kHandshake)), "websocket");
  EXPECT_EQ(forwarded_upgrade(parse_request_head(
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: WebSocket/13\r\n\r\n")),
            "WebSocket/13");
}

TEST(HttpUpgrade, OtherUpgradesAreServedAsPlainHttp) {
  for (const char* wire : {
           // h2c, alone or beside websocket: never through an HTTP/1.1 proxy
           "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
           "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket, h2c\r\n\r\n",
           // tokens lbd does not tunnel
           "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: TLS/1.2\r\n\r\n",
           // Upgrade without Connection: upgrade is not a request to upgrade
           "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
           // not a GET, has a body, or HTTP/1.0
           "POST / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc",
           "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
       }) {
    EXPECT_EQ(forwarded_upgrade(parse_request_head(wire)), "") << wire;
  }
}

TEST(HttpUpgrade, UpstreamHeadCarriesTheUpgradePair) {
  const RequestHead req = parse_request_head(kHandshake);
  ForwardContext ctx{.client_ip = "10.0.0.9", .proto = "http"};
  ctx.upgrade = forwarded_upgrade(req);
  std::string out;
  write_upstream_request_head(req, ctx, out);
  const RequestHead up = parse_request_head(out);
  EXPECT_EQ(up.headers.find("Connection"), "upgrade");
  EXPECT_EQ(up.headers.find("Upgrade"), "websocket");
  EXPECT_EQ(up.headers.find("Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_TRUE(up.upgrade);

  ctx.upgrade = {};  // a plain request: the pair stays hop-by-hop
  out.clear();
  write_upstream_request_head(req, ctx, out);
  EXPECT_EQ(out.find("pgrade"), std::string::npos) << out;
}

TEST(HttpUpgrade, SwitchingProtocolsHeadKeepsEndToEndFields) {
  const ResponseHead resp = parse_response_head(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Hop\r\n"
      "X-Hop: 1\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  EXPECT_TRUE(accepts_upgrade(resp));
  std::string out;
  write_switching_protocols_head(resp, out);
  EXPECT_EQ(out,
            "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Connection: upgrade\r\nUpgrade: websocket\r\n\r\n");
}

TEST(HttpUpgrade, A101ToAnotherProtocolIsNotAccepted) {
  EXPECT_FALSE(accepts_upgrade(parse_response_head("HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n")));
  EXPECT_FALSE(accepts_upgrade(parse_response_head("HTTP/1.1 101 OK\r\n\r\n")));
  EXPECT_FALSE(accepts_upgrade(parse_response_head("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n")));
}

}  // namespace
}  // namespace lb::http
