#include "lb/http/message.h"

#include <gtest/gtest.h>

#include "message_fixture.h"

namespace lb::http {
namespace {

TEST(HttpMessage, IdempotentMethodsMayBeReplayed) {
  RequestHead h;
  for (llhttp_method_t m : {HTTP_GET, HTTP_HEAD, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS, HTTP_TRACE}) {
    h.method = m;
    EXPECT_TRUE(h.idempotent()) << h.method_name();
  }
  for (llhttp_method_t m : {HTTP_POST, HTTP_PATCH, HTTP_CONNECT}) {
    h.method = m;
    EXPECT_FALSE(h.idempotent()) << h.method_name();
  }
}

TEST(HttpMessage, MethodNameIsTheWireName) {
  RequestHead h;
  h.method = HTTP_OPTIONS;
  EXPECT_EQ(h.method_name(), "OPTIONS");
}

TEST(HttpMessage, HasBodyFromFraming) {
  RequestHead h;
  EXPECT_FALSE(h.has_body());
  h.content_length = 0;
  EXPECT_FALSE(h.has_body());
  h.content_length = 1;
  EXPECT_TRUE(h.has_body());
  h.content_length.reset();
  h.chunked = true;
  EXPECT_TRUE(h.has_body());
}

TEST(HttpMessage, RequestClearForgetsThePreviousRequest) {
  RequestHead h = test::parse_request_head(
      "POST /x HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nabc");
  ASSERT_EQ(h.method, HTTP_POST);
  h.clear();
  EXPECT_EQ(h.method, HTTP_GET);
  EXPECT_TRUE(h.url.empty());
  EXPECT_EQ(h.minor, 1);
  EXPECT_EQ(h.headers.size(), 0u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.content_length);
  EXPECT_FALSE(h.expect_continue);
  EXPECT_FALSE(h.has_body());
}

TEST(HttpMessage, ResponseClearForgetsThePreviousResponse) {
  ResponseHead h = test::parse_response_head("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.status, 404);
  h.clear();
  EXPECT_EQ(h.status, 0);
  EXPECT_TRUE(h.reason.empty());
  EXPECT_EQ(h.minor, 1);
  EXPECT_EQ(h.headers.size(), 0u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.content_length);
  EXPECT_FALSE(h.no_body);
}

}  // namespace
}  // namespace lb::http
