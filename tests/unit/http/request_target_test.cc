#include "lb/http/request_target.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace lb::http {
namespace {

// The target as lbd routes and forwards it, or the refusal.
std::string normalised(std::string target) {
  if (const char* why = normalise_target(target)) return std::string("refused: ") + why;
  return target;
}

TEST(HttpRequestTarget, DotSegmentsAreRemoved) {  // RFC 3986 §5.2.4
  EXPECT_EQ(normalised("/v1/../admin"), "/admin");
  EXPECT_EQ(normalised("/a/./b/../c"), "/a/c");
  EXPECT_EQ(normalised("/a/b/.."), "/a/");
  EXPECT_EQ(normalised("/a/b/."), "/a/b/");
  EXPECT_EQ(normalised("/.."), "/");
  EXPECT_EQ(normalised("/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(normalised("/a/..b/c.."), "/a/..b/c..");  // not dot-segments
}

TEST(HttpRequestTarget, SlashRunsAreMerged) {
  EXPECT_EQ(normalised("//admin"), "/admin");
  EXPECT_EQ(normalised("/a//b///"), "/a/b/");
  EXPECT_EQ(normalised("/"), "/");
}

TEST(HttpRequestTarget, EncodedUnreservedCharactersAreDecoded) {
  EXPECT_EQ(normalised("/%61%44%6d%69%6E"), "/aDmin");
  EXPECT_EQ(normalised("/v1/%2e%2E/admin"), "/admin");
  EXPECT_EQ(normalised("/%7e%2D%5f"), "/~-_");
}

TEST(HttpRequestTarget, OtherEscapesAreKeptInUpperCase) {
  EXPECT_EQ(normalised("/a%20b%3f%c3%a9"), "/a%20b%3F%C3%A9");
}

TEST(HttpRequestTarget, EncodedSeparatorsAndNulAreRefused) {
  EXPECT_EQ(normalised("/v1/..%2fadmin"), "refused: encoded '/', '\\' or NUL in the path");
  EXPECT_EQ(normalised("/v1/..%2Fadmin"), "refused: encoded '/', '\\' or NUL in the path");
  EXPECT_EQ(normalised("/v1/..%5cadmin"), "refused: encoded '/', '\\' or NUL in the path");
  EXPECT_EQ(normalised("/a%00"), "refused: encoded '/', '\\' or NUL in the path");
}

TEST(HttpRequestTarget, MalformedEscapesAreRefused) {
  EXPECT_EQ(normalised("/a%"), "refused: malformed percent-encoding in the path");
  EXPECT_EQ(normalised("/a%4"), "refused: malformed percent-encoding in the path");
  EXPECT_EQ(normalised("/a%g1"), "refused: malformed percent-encoding in the path");
}

TEST(HttpRequestTarget, QueryIsLeftAlone) {
  EXPECT_EQ(normalised("/a/../b?x=/../%2f%zz#f"), "/b?x=/../%2f%zz#f");
  EXPECT_EQ(normalised("/a/..?"), "/?");
}

TEST(HttpRequestTarget, AbsoluteFormPathIsNormalised) {
  EXPECT_EQ(normalised("http://api.test/v1/../admin?q"), "http://api.test/admin?q");
  EXPECT_EQ(normalised("http://api.test"), "http://api.test");
  EXPECT_EQ(normalised("http://api.test?q=/.."), "http://api.test?q=/..");
}

TEST(HttpRequestTarget, TargetsWithoutAPathAreLeftAlone) {
  EXPECT_EQ(normalised("*"), "*");
  EXPECT_EQ(normalised("example.com:443"), "example.com:443");
}

TEST(HttpRequestTarget, IsNormalPath) {
  for (const char* t : {"/", "/a", "/a/", "/a/b?x=/../", "/%20", "*", "http://h/a", "http://h"}) EXPECT_TRUE(is_normal_path(t)) << t;
  for (const char* t : {"//a", "/a//b", "/./a", "/a/..", "/a/../b", "/%41", "/%2f", "/%2F", "/%3f", "/%",
                        "http://h/a/../b"})
    EXPECT_FALSE(is_normal_path(t)) << t;
}

// Whatever normalise_target accepts, it turns into a normal path, and a
// normal path is a fixed point.
TEST(HttpRequestTarget, NormalisedPathsAreNormalAndStable) {
  std::mt19937 rng(12);
  const char alphabet[] = "/./../%2e%2E%41%20a";
  for (int n = 0; n < 20000; ++n) {
    std::string t = "/";
    const int len = int(rng() % 24);
    for (int i = 0; i < len; ++i) t.push_back(alphabet[rng() % (sizeof alphabet - 1)]);
    std::string once = t;
    if (normalise_target(once)) continue;
    EXPECT_TRUE(is_normal_path(once)) << t << " -> " << once;
    std::string twice = once;
    EXPECT_EQ(normalise_target(twice), nullptr);
    EXPECT_EQ(twice, once) << t;
  }
}

}  // namespace
}  // namespace lb::http
