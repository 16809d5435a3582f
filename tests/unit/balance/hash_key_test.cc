#include "lb/balance/hash_key.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <strings.h>

#include <map>
#include <string>

namespace lb::balance {
namespace {

class FakeHeaders final : public HeaderLookup {
 public:
  FakeHeaders(std::initializer_list<std::pair<std::string, std::string>> headers) : headers_(headers) {}
  std::optional<std::string_view> find(std::string_view name) const override {
    for (const auto& [n, v] : headers_)
      if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0) return v;
    return std::nullopt;
  }

 private:
  std::vector<std::pair<std::string, std::string>> headers_;
};

std::string v4(const char* text) {
  in_addr a{};
  EXPECT_EQ(inet_pton(AF_INET, text, &a), 1);
  return {reinterpret_cast<const char*>(&a), sizeof a};
}

std::string v6(const char* text) {
  in6_addr a{};
  EXPECT_EQ(inet_pton(AF_INET6, text, &a), 1);
  return {reinterpret_cast<const char*>(&a), sizeof a};
}

HashKey parse(std::string_view spec) {
  auto key = parse_hash_key(spec);
  EXPECT_TRUE(key) << spec;
  return key.value_or(HashKey{});
}

TEST(BalanceHashKey, ParsesTheFourForms) {
  EXPECT_EQ(parse("client_ip"), (HashKey{HashKey::Source::client_ip, ""}));
  EXPECT_EQ(parse("uri"), (HashKey{HashKey::Source::uri, ""}));
  EXPECT_EQ(parse("header:X-User"), (HashKey{HashKey::Source::header, "X-User"}));
  EXPECT_EQ(parse("cookie:session"), (HashKey{HashKey::Source::cookie, "session"}));
}

TEST(BalanceHashKey, RefusesAnythingElse) {
  for (const char* bad : {"", "ip", "URI", "header:", "cookie:", "header:a b", "cookie:a=b", "query:x"})
    EXPECT_FALSE(parse_hash_key(bad)) << bad;
}

TEST(BalanceHashKey, ClientIpHashesTheAddress) {
  const HashKey key = parse("client_ip");
  const std::string a = v4("192.0.2.1"), b = v4("192.0.2.2");
  EXPECT_EQ(hash_request(key, {.client_address = a}), hash_client_address(a));
  EXPECT_NE(hash_request(key, {.client_address = a}), hash_request(key, {.client_address = b}));
  EXPECT_FALSE(hash_request(key, {}));
}

TEST(BalanceHashKey, Ipv4MappedIpv6HashesAsIpv4) {
  EXPECT_EQ(hash_client_address(v6("::ffff:192.0.2.1")), hash_client_address(v4("192.0.2.1")));
  EXPECT_NE(hash_client_address(v6("2001:db8::1")), hash_client_address(v6("2001:db8::2")));
}

TEST(BalanceHashKey, AddressBytesReadsBothFamilies) {
  sockaddr_storage ss{};
  auto& in = reinterpret_cast<sockaddr_in&>(ss);
  in.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.3", &in.sin_addr);
  EXPECT_EQ(address_bytes(ss), v4("127.0.0.3"));

  ss = {};
  auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
  in6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr);
  EXPECT_EQ(address_bytes(ss), v6("2001:db8::7"));

  ss = {};
  ss.ss_family = AF_UNIX;
  EXPECT_TRUE(address_bytes(ss).empty());
}

TEST(BalanceHashKey, UriIgnoresTheQueryString) {
  const HashKey key = parse("uri");
  EXPECT_EQ(hash_request(key, {.uri = "/img/a.png?v=1"}), hash_request(key, {.uri = "/img/a.png"}));
  EXPECT_NE(hash_request(key, {.uri = "/img/a.png"}), hash_request(key, {.uri = "/img/b.png"}));
}

TEST(BalanceHashKey, HeaderNameIsCaseInsensitiveAndAbsenceMeansNoKey) {
  const HashKey key = parse("header:X-Tenant");
  const FakeHeaders acme{{"x-tenant", "acme"}}, other{{"X-TENANT", "other"}}, none{{"Host", "x"}},
      empty{{"X-Tenant", ""}};
  EXPECT_TRUE(hash_request(key, {.headers = &acme}));
  EXPECT_EQ(hash_request(key, {.headers = &acme}), hash_request(key, {.headers = &acme}));
  EXPECT_NE(hash_request(key, {.headers = &acme}), hash_request(key, {.headers = &other}));
  EXPECT_FALSE(hash_request(key, {.headers = &none}));
  EXPECT_FALSE(hash_request(key, {.headers = &empty}));
  EXPECT_FALSE(hash_request(key, {}));
}

TEST(BalanceHashKey, CookieIsFoundAmongOthers) {
  const HashKey key = parse("cookie:sid");
  const FakeHeaders one{{"Cookie", "theme=dark; sid=abc123; lang=en"}};
  const FakeHeaders same{{"cookie", "sid=abc123"}};
  const FakeHeaders other{{"Cookie", "sid=zzz"}};
  const FakeHeaders absent{{"Cookie", "xsid=abc123; sidx=1"}};
  EXPECT_TRUE(hash_request(key, {.headers = &one}));
  EXPECT_EQ(hash_request(key, {.headers = &one}), hash_request(key, {.headers = &same}));
  EXPECT_NE(hash_request(key, {.headers = &one}), hash_request(key, {.headers = &other}));
  EXPECT_FALSE(hash_request(key, {.headers = &absent}));
}

TEST(BalanceHashKey, FindCookieParsesTheHeader) {
  EXPECT_EQ(find_cookie("a=1; b=2", "b"), "2");
  EXPECT_EQ(find_cookie("a=1;b=2", "b"), "2");
  EXPECT_EQ(find_cookie(" a = \"quoted\" ", "a"), "quoted");
  EXPECT_EQ(find_cookie("a=; b=2", "a"), "");
  EXPECT_EQ(find_cookie("A=1", "a"), std::nullopt) << "cookie names are case-sensitive";
  EXPECT_EQ(find_cookie("junk; b=2", "b"), "2");
  EXPECT_EQ(find_cookie("", "a"), std::nullopt);
}

}  // namespace
}  // namespace lb::balance
