#include "lb/http/trailer_fields.h"

#include <gtest/gtest.h>

#include <string>

namespace lb::http {
namespace {

HeaderList fields(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  HeaderList h;
  for (const auto& [n, v] : list) h.add(n, v);
  return h;
}

TEST(TrailerFields, NoTrailersEndTheBodyWithAnEmptySection) {
  std::string out;
  append_last_chunk(nullptr, out);
  EXPECT_EQ(out, "0\r\n\r\n");
  out.clear();
  const HeaderList none;
  append_last_chunk(&none, out);
  EXPECT_EQ(out, "0\r\n\r\n");
}

TEST(TrailerFields, FieldsFollowTheLastChunk) {
  const HeaderList t = fields({{"grpc-status", "0"}, {"grpc-message", "ok"}, {"X-Usage", "tokens=42"}});
  std::string out;
  append_last_chunk(&t, out);
  EXPECT_EQ(out, "0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\nX-Usage: tokens=42\r\n\r\n");
}

// Fields about one hop's connection or framing would be misread by the next
// hop (a Content-Length after the body, a second Host): they stay here.
TEST(TrailerFields, HopByHopAndFramingFieldsAreDropped) {
  const HeaderList t = fields({{"Connection", "close"},
                               {"Keep-Alive", "timeout=5"},
                               {"Transfer-Encoding", "chunked"},
                               {"Content-Length", "5"},
                               {"TE", "trailers"},
                               {"Trailer", "x"},
                               {"Upgrade", "h2c"},
                               {"Proxy-Connection", "close"},
                               {"Host", "evil"},
                               {"grpc-status", "7"}});
  std::string out;
  append_last_chunk(&t, out);
  EXPECT_EQ(out, "0\r\ngrpc-status: 7\r\n\r\n");
  EXPECT_FALSE(forwardable_trailer(t, 0));
  EXPECT_TRUE(forwardable_trailer(t, 9));
}

TEST(TrailerFields, EmptyNamesAndPseudoHeadersAreDropped) {
  const HeaderList t = fields({{"", "x"}, {":status", "200"}, {"x-ok", "1"}});
  std::string out;
  append_last_chunk(&t, out);
  EXPECT_EQ(out, "0\r\nx-ok: 1\r\n\r\n");
}

}  // namespace
}  // namespace lb::http
