#include "lb/http/error_response.h"

#include <gtest/gtest.h>

#include "message_fixture.h"

namespace lb::http {
namespace {

// The error response as a client's parser sees it.
struct Parsed {
  ResponseHead head;
  std::string body;
  bool complete = false;
};

Parsed parse(std::string_view wire) {
  test::ResponseRecorder rec;
  ResponseParser parser(rec);
  parser.expect_response(false);
  const auto r = parser.execute(wire.data(), wire.size());
  EXPECT_EQ(r.consumed, wire.size());
  Parsed p;
  p.complete = r.status == ResponseParser::Status::complete;
  if (!rec.heads.empty()) {
    p.head = rec.heads[0];
    p.body = rec.bodies[0];
  }
  return p;
}

TEST(HttpErrorResponse, ReasonPhrases) {
  EXPECT_EQ(status_reason(400), "Bad Request");
  EXPECT_EQ(status_reason(408), "Request Timeout");
  EXPECT_EQ(status_reason(413), "Content Too Large");
  EXPECT_EQ(status_reason(429), "Too Many Requests");
  EXPECT_EQ(status_reason(431), "Request Header Fields Too Large");
  EXPECT_EQ(status_reason(502), "Bad Gateway");
  EXPECT_EQ(status_reason(503), "Service Unavailable");
  EXPECT_EQ(status_reason(504), "Gateway Timeout");
  EXPECT_EQ(status_reason(599), "Error");
}

TEST(HttpErrorResponse, IsACompleteResponseWithAShortBody) {
  std::string out;
  append_error_response(503, false, out);
  const Parsed p = parse(out);
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.head.status, 503);
  EXPECT_EQ(p.head.reason, "Service Unavailable");
  EXPECT_EQ(p.body, "503 Service Unavailable\n");
  EXPECT_EQ(p.head.headers.find("Content-Type"), "text/plain");
  EXPECT_EQ(p.head.headers.find("Cache-Control"), "no-store");
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_EQ(p.head.headers.count("Connection"), 0u);
}

TEST(HttpErrorResponse, CloseAddsConnectionClose) {
  std::string out;
  append_error_response(400, true, out);
  const Parsed p = parse(out);
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.body, "400 Bad Request\n");
  EXPECT_EQ(p.head.headers.find("Connection"), "close");
  EXPECT_FALSE(p.head.keep_alive);
}

TEST(HttpErrorResponse, CarriesExtraHeaders) {
  std::string out;
  append_error_response(429, true, out, "Retry-After: 2\r\n");
  const Parsed p = parse(out);
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.head.status, 429);
  EXPECT_EQ(p.head.headers.find("Retry-After"), "2");
  EXPECT_EQ(p.head.headers.find("Connection"), "close");
  EXPECT_EQ(p.body, "429 Too Many Requests\n");
}

TEST(HttpErrorResponse, AppendsAfterExistingBytes) {
  std::string out = "HTTP/1.1 100 Continue\r\n\r\n";
  append_error_response(413, true, out);
  EXPECT_EQ(out.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Content Too Large\r\n", 0), 0u);
  EXPECT_EQ(out.substr(out.size() - 22), "413 Content Too Large\n");
}

TEST(HttpErrorResponse, AnswerToHeadHasNoBody) {
  // A body after a HEAD answer would be read as the next response.
  std::string out;
  append_error_response(502, false, out, {}, true);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
  test::ResponseRecorder rec;
  ResponseParser parser(rec);
  parser.expect_response(true);
  const auto r = parser.execute(out.data(), out.size());
  EXPECT_EQ(r.status, ResponseParser::Status::complete);
  EXPECT_EQ(r.consumed, out.size());
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_EQ(rec.heads[0].status, 502);
  EXPECT_EQ(rec.heads[0].headers.find("Content-Length"), "16");  // what a GET would get
}

}  // namespace
}  // namespace lb::http
