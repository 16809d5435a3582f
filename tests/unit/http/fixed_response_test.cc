#include "lb/http/fixed_response.h"

#include <gtest/gtest.h>

namespace lb::http {
namespace {

TEST(FixedResponse, BodyTypeAndExtraHeaders) {
  std::string out;
  append_fixed_response(503, "text/plain", "down\n", "Retry-After: 60\r\n", false, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            "Retry-After: 60\r\n\r\ndown\n");
}

TEST(FixedResponse, RedirectWithoutBodyClosingAndHead) {
  std::string out;
  append_fixed_response(308, "", "", "Location: https://a/\r\n", true, false, out);
  EXPECT_EQ(out, "HTTP/1.1 308 Permanent Redirect\r\nContent-Length: 0\r\nLocation: https://a/\r\nConnection: close\r\n\r\n");
  out.clear();
  append_fixed_response(200, "text/plain", "hello", "", false, true, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n");
  out.clear();
  append_fixed_response(204, "text/plain", "ignored", "", false, false, out);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(FixedResponse, Reasons) {
  EXPECT_EQ(fixed_reason(301), "Moved Permanently");
  EXPECT_EQ(fixed_reason(302), "Found");
  EXPECT_EQ(fixed_reason(303), "See Other");
  EXPECT_EQ(fixed_reason(307), "Temporary Redirect");
  EXPECT_EQ(fixed_reason(503), "Service Unavailable");
}

}  // namespace
}  // namespace lb::http
