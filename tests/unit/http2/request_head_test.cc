#include "lb/http2/request_head.h"

#include <gtest/gtest.h>

namespace lb::http2 {
namespace {

using V = RequestHeadBuilder::Verdict;

RequestHeadBuilder base(size_t max = 65536) {
  RequestHeadBuilder b(max);
  b.add(":method", "POST");
  b.add(":scheme", "https");
  b.add(":path", "/x");
  b.add(":authority", "a.example");
  return b;
}

TEST(Http2RequestHead, PseudoFieldsBecomeMethodUrlAndHost) {
  RequestHeadBuilder b = base();
  b.add("content-length", "12");
  b.add("expect", "100-continue");
  ASSERT_EQ(b.finish(false), V::ok);
  const http::RequestHead& h = b.head();
  EXPECT_EQ(h.method, HTTP_POST);
  EXPECT_EQ(h.url, "/x");
  EXPECT_EQ(h.major, 1);
  EXPECT_EQ(h.minor, 1);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_FALSE(h.chunked);
  EXPECT_TRUE(h.expect_continue);
  EXPECT_EQ(h.headers.find(http::FieldId::host), "a.example");
  EXPECT_EQ(h.headers.count("host"), 1u);
}

TEST(Http2RequestHead, BodyWithoutLengthIsChunkedAndEndStreamMeansNoBody) {
  RequestHeadBuilder b = base();
  ASSERT_EQ(b.finish(false), V::ok);
  EXPECT_TRUE(b.head().chunked);
  RequestHeadBuilder c = base();
  ASSERT_EQ(c.finish(true), V::ok);
  EXPECT_FALSE(c.head().has_body());
}

TEST(Http2RequestHead, CookiesAreJoined) {
  RequestHeadBuilder b = base();
  b.add("cookie", "a=1");
  b.add("x", "y");
  b.add("cookie", "b=2");
  ASSERT_EQ(b.finish(true), V::ok);
  EXPECT_EQ(b.head().headers.count("cookie"), 1u);
  EXPECT_EQ(b.head().headers.find("cookie"), "a=1; b=2");
}

TEST(Http2RequestHead, MalformedHeads) {
  auto verdict = [](auto&& fill) {
    RequestHeadBuilder b(65536);
    fill(b);
    return b.finish(true);
  };
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add("Upper", "1"); }), V::malformed);
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add("keep-alive", "5"); }), V::malformed);
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add("proxy-connection", "x"); }), V::malformed);
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add("te", "trailers, gzip"); }), V::malformed);
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add("x", "1"); b.add(":path", "/y"); }), V::malformed);
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add(":protocol", "websocket"); }), V::malformed);
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add("content-length", "1x"); }), V::malformed);
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add("host", "other.example"); }), V::malformed);
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add("te", "trailers"); }), V::ok);
  EXPECT_EQ(verdict([](auto& b) { b = base(); b.add("host", "A.example"); }), V::ok);
  EXPECT_EQ(verdict([](auto& b) {
              b.add(":method", "GET");
              b.add(":scheme", "https");
              b.add(":path", "/");
            }),
            V::bad_request);  // neither :authority nor Host
  EXPECT_EQ(verdict([](auto& b) {
              b.add(":method", "CONNECT");
              b.add(":authority", "a:443");
            }),
            V::bad_request);
  EXPECT_EQ(verdict([](auto& b) {
              b.add(":method", "FROB");
              b.add(":scheme", "https");
              b.add(":path", "/");
              b.add(":authority", "a");
            }),
            V::bad_request);
}

TEST(Http2RequestHead, SizeCountsNameValueAnd32) {
  RequestHeadBuilder b = base(200);
  const size_t before = b.bytes();
  b.add("x", "yy");
  EXPECT_EQ(b.bytes(), before + 1 + 2 + 32);
  b.add("big", std::string(200, 'b'));
  EXPECT_EQ(b.finish(true), V::too_large);
}

}  // namespace
}  // namespace lb::http2
