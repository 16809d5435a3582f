#include "lb/http/path_rewrite.h"

#include <gtest/gtest.h>

#include "lb/http/request_target.h"

namespace lb::http {
namespace {

TEST(PathRewrite, StripAndAddKeepTheQueryAndAValidOriginForm) {
  struct Case {
    const char* origin;
    const char* strip;
    const char* add;
    const char* expected;
  };
  const Case cases[] = {
      {"/api/users?id=3", "/api", "", "/users?id=3"},
      {"/api/users?id=3", "/api/", "", "/users?id=3"},
      {"/api", "/api", "", "/"},
      {"/api?x=1", "/api", "", "/?x=1"},
      {"/apix/y", "/api", "", "/x/y"},  // a plain string prefix, as nginx and Envoy strip it
      {"/other/y", "/api", "", "/other/y"},  // not under the prefix: unchanged
      {"/users", "", "/v2", "/v2/users"},
      {"/users", "", "/v2/", "/v2/users"},
      {"/", "", "/v2", "/v2/"},
      {"/api/users?q=/a//b", "/api", "/v2/", "/v2/users?q=/a//b"},
      {"/api/", "/api/", "/v2/", "/v2/"},
      {"/api", "/api", "/v2", "/v2"},
  };
  for (const Case& c : cases) {
    std::string out;
    rewrite_origin(c.origin, {c.strip, c.add}, out);
    EXPECT_EQ(out, c.expected) << c.origin << " strip " << c.strip << " add " << c.add;
    EXPECT_TRUE(is_normal_path(out)) << out;
  }
}

TEST(PathRewrite, PrefixesMustBeNormalisedPaths) {
  EXPECT_EQ(invalid_prefix("/api"), nullptr);
  EXPECT_EQ(invalid_prefix("/v2/"), nullptr);
  EXPECT_NE(invalid_prefix("api"), nullptr);
  EXPECT_NE(invalid_prefix("/a?b"), nullptr);
  EXPECT_NE(invalid_prefix("/a//b"), nullptr);
  EXPECT_NE(invalid_prefix("/a/../b"), nullptr);
  EXPECT_NE(invalid_prefix("/a b"), nullptr);
  EXPECT_NE(invalid_prefix("/a\r\nX: y"), nullptr);
}

}  // namespace
}  // namespace lb::http
