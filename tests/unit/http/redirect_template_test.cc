#include "lb/http/redirect_template.h"

#include <gtest/gtest.h>

namespace lb::http {
namespace {

std::string expand(std::string_view text, const RedirectParts& parts) {
  auto t = RedirectTemplate::parse(text);
  EXPECT_TRUE(std::holds_alternative<RedirectTemplate>(t)) << std::get<std::string>(t);
  std::string out;
  std::get<RedirectTemplate>(t).expand(parts, out);
  return out;
}

std::string error_of(std::string_view text) {
  auto t = RedirectTemplate::parse(text);
  return std::holds_alternative<std::string>(t) ? std::get<std::string>(t) : "";
}

TEST(RedirectTemplate, ExpandsEachPlaceholder) {
  const RedirectParts p{"http", "example.com", "/a/b", "?q=1"};
  EXPECT_EQ(expand("https://{host}{path}{query}", p), "https://example.com/a/b?q=1");
  EXPECT_EQ(expand("{scheme}://new.example.com/x{path}", p), "http://new.example.com/x/a/b");
  EXPECT_EQ(expand("/fixed", p), "/fixed");
  EXPECT_EQ(expand("{query}{query}", {"http", "h", "/", ""}), "");
}

TEST(RedirectTemplate, RefusesWhatIsNotOneUriReference) {
  EXPECT_EQ(error_of(""), "must not be empty");
  EXPECT_EQ(error_of("https://{hots}/"), "unknown placeholder '{hots}' (valid: {scheme}, {host}, {path}, {query})");
  EXPECT_EQ(error_of("https://{host"), "'{' without '}' at offset 8");
  EXPECT_EQ(error_of("a}"), "'}' without '{' at offset 1");
  EXPECT_EQ(error_of("https://x/\r\nSet-Cookie: a=b"), "must not contain spaces or control characters");
  EXPECT_EQ(error_of("/a b"), "must not contain spaces or control characters");
}

}  // namespace
}  // namespace lb::http
