#include "lb/http2/response_fields.h"

#include <gtest/gtest.h>

namespace lb::http2 {
namespace {

std::string dump(const H2Fields& f) {
  std::string s;
  for (size_t i = 0; i < f.size(); ++i) s += std::string(f.name(i)) + "=" + std::string(f.value(i)) + ";";
  return s;
}

TEST(Http2ResponseFields, ErrorResponseLines) {
  H2Fields f;
  fixed_fields(503, "Retry-After: 10\r\nConnection: close\r\nContent-Length: 99\r\n", 24, f);
  EXPECT_EQ(dump(f), ":status=503;retry-after=10;content-type=text/plain;cache-control=no-store;content-length=24;");
}

TEST(Http2ResponseFields, RedirectKeepsLocationAndItsOwnContentType) {
  H2Fields f;
  fixed_fields(302, "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Type: text/html\r\n\r\n", 5, f);
  EXPECT_EQ(dump(f), ":status=302;location=/b;content-type=text/html;content-length=5;");
}

TEST(Http2ResponseFields, BackendResponseDropsWhatConnectionNames) {
  http::ResponseHead h;
  h.status = 200;
  h.headers.add("Connection", "x-a");
  h.headers.add("X-A", "1");
  h.headers.add("Upgrade", "h2c");
  h.headers.add("Proxy-Connection", "keep-alive");
  h.headers.add("Trailer", "x-t");
  h.headers.add("Content-Length", "3");
  h.headers.add("ETag", "\"e\"");
  H2Fields f;
  response_fields(h, nullptr, f);
  EXPECT_EQ(dump(f), ":status=200;content-length=3;etag=\"e\";");
}

}  // namespace
}  // namespace lb::http2
