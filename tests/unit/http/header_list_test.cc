#include "lb/http/header_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lb::http {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Adds a field the way the parsers do, with name and value in pieces.
void add(HeaderList& list, std::vector<std::string_view> name_parts, std::vector<std::string_view> value_parts) {
  list.begin_field();
  for (auto p : name_parts) list.append_name(p);
  list.begin_value();
  for (auto p : value_parts) list.append_value(p);
  list.end_value();
}

std::vector<std::string> tokens(std::string_view value) {
  std::vector<std::string> out;
  for_each_token(value, [&](std::string_view t) { out.emplace_back(t); });
  return out;
}

TEST(HttpHeaderList, IequalsIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Host", "Hos"));
  EXPECT_FALSE(iequals("Host", "Hosts"));
  EXPECT_FALSE(iequals("a-b", "a_b"));
  EXPECT_FALSE(iequals("[", "{"));  // 0x5B vs 0x7B: not letters, not equal
}

TEST(HttpHeaderList, StitchesPiecesOfNamesAndValues) {
  HeaderList list;
  add(list, {"Con", "tent-", "Type"}, {"text/", "html; charset=utf-8"});
  add(list, {"X-Empty"}, {});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.name(0), "Content-Type");
  EXPECT_EQ(list.value(0), "text/html; charset=utf-8");
  EXPECT_EQ(list.name(1), "X-Empty");
  EXPECT_EQ(list.value(1), "");
}

TEST(HttpHeaderList, TrailingWhitespaceOfValuesIsDropped) {
  HeaderList list;
  add(list, {"A"}, {"one two ", "\t "});
  EXPECT_EQ(list.value(0), "one two");
  add(list, {"B"}, {" \t"});
  EXPECT_EQ(list.value(1), "");
}

TEST(HttpHeaderList, FindReturnsTheFirstValueAnyCase) {
  HeaderList list;
  add(list, {"Cookie"}, {"a=1"});
  add(list, {"cookie"}, {"b=2"});
  EXPECT_EQ(list.find("COOKIE"), "a=1");
  EXPECT_EQ(list.count("Cookie"), 2u);
  EXPECT_FALSE(list.find("Set-Cookie"));
  EXPECT_EQ(list.count("Set-Cookie"), 0u);
}

TEST(HttpHeaderList, ClearEmptiesTheList) {
  HeaderList list;
  add(list, {"A"}, {"1"});
  list.clear();
  EXPECT_EQ(list.size(), 0u);
  add(list, {"B"}, {"2"});
  EXPECT_EQ(list.name(0), "B");
  EXPECT_EQ(list.value(0), "2");
  EXPECT_FALSE(list.find("A"));
}

TEST(HttpHeaderList, TokensAreTrimmedAndEmptyOnesSkipped) {
  EXPECT_THAT(tokens("keep-alive, Upgrade"), ElementsAre("keep-alive", "Upgrade"));
  EXPECT_THAT(tokens(" a ,\tb\t,, ,c"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(tokens("single"), ElementsAre("single"));
  EXPECT_THAT(tokens(""), IsEmpty());
  EXPECT_THAT(tokens(" , ,"), IsEmpty());
}

}  // namespace
}  // namespace lb::http
