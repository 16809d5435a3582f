#include "lb/http/cookie_header.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lb::http {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> named(std::string_view header, std::string_view name) {
  std::vector<std::string> out;
  for_each_cookie_named(header, name, [&](std::string_view v) { out.emplace_back(v); });
  return out;
}

std::string without(std::string_view header, std::string_view name, size_t expect_removed) {
  std::string out;
  EXPECT_EQ(append_without_cookie(header, name, out), expect_removed) << header;
  return out;
}

TEST(CookieHeader, FindsEveryCookieOfTheNameInOrder) {
  EXPECT_THAT(named("a=1; LB=x; b=2; LB=y", "LB"), ElementsAre("x", "y"));
  EXPECT_THAT(named("LB=x", "LB"), ElementsAre("x"));
  EXPECT_THAT(named("a=1;LB=x;b=2", "LB"), ElementsAre("x"));
  EXPECT_THAT(named("  LB = x  ;", "LB"), ElementsAre("x"));
  EXPECT_THAT(named("LB=\"quoted\"", "LB"), ElementsAre("quoted"));
  EXPECT_THAT(named("LB=", "LB"), ElementsAre(""));
  EXPECT_THAT(named("LB=a=b", "LB"), ElementsAre("a=b"));
}

TEST(CookieHeader, NamesMatchExactly) {
  EXPECT_THAT(named("lb=x; LBX=y; XLB=z; LB", "LB"), IsEmpty());  // case, prefix, suffix, no '='
  EXPECT_THAT(named("", "LB"), IsEmpty());
}

TEST(CookieHeader, RemovesOnlyTheNamedCookie) {
  EXPECT_EQ(without("a=1; LB=x; b=2", "LB", 1), "a=1; b=2");
  EXPECT_EQ(without("LB=x; a=1", "LB", 1), "a=1");
  EXPECT_EQ(without("a=1; LB=x", "LB", 1), "a=1");
  EXPECT_EQ(without("LB=x; a=1; LB=y", "LB", 2), "a=1");
  EXPECT_EQ(without("LB=x", "LB", 1), "");
  EXPECT_EQ(without("LB=x;LB=y", "LB", 2), "");
}

TEST(CookieHeader, OtherCookiesKeepTheirBytes) {
  // Values with '=', quotes, odd characters and similar names pass as they were.
  EXPECT_EQ(without("sid=\"a b\"; LB=x; tok=abc==; lb=keep; LBX=keep", "LB", 1),
            "sid=\"a b\"; tok=abc==; lb=keep; LBX=keep");
}

TEST(CookieHeader, WithoutTheCookieTheHeaderIsUnchangedToTheByte) {
  EXPECT_EQ(without("a=1;b=2;  c=3 ;", "LB", 0), "a=1;b=2;  c=3 ;");
  EXPECT_EQ(without("", "LB", 0), "");
}

TEST(CookieHeader, AppendsAfterWhatIsAlreadyThere) {
  std::string out = "Cookie: ";
  append_without_cookie("a=1; LB=x", "LB", out);
  EXPECT_EQ(out, "Cookie: a=1");
}

}  // namespace
}  // namespace lb::http
