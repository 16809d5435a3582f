#include "lb/config/cidr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace lb::config {
namespace {

std::string bytes_of(const char* ip) {
  unsigned char b[16];
  if (inet_pton(AF_INET, ip, b) == 1) return std::string(reinterpret_cast<char*>(b), 4);
  EXPECT_EQ(inet_pton(AF_INET6, ip, b), 1) << ip;
  return std::string(reinterpret_cast<char*>(b), 16);
}

Cidr cidr(const char* text) {
  std::string why;
  auto c = parse_cidr(text, why);
  EXPECT_TRUE(c) << text << ": " << why;
  return c.value_or(Cidr{});
}

TEST(Cidr, MatchesItsRangeOnly) {
  const Cidr ten = cidr("10.0.0.0/8");
  EXPECT_TRUE(cidr_contains(ten, bytes_of("10.255.1.2")));
  EXPECT_FALSE(cidr_contains(ten, bytes_of("11.0.0.1")));
  const Cidr odd = cidr("192.168.4.0/22");
  EXPECT_TRUE(cidr_contains(odd, bytes_of("192.168.7.255")));
  EXPECT_FALSE(cidr_contains(odd, bytes_of("192.168.8.0")));
  const Cidr host = cidr("127.0.0.1");
  EXPECT_TRUE(cidr_contains(host, bytes_of("127.0.0.1")));
  EXPECT_FALSE(cidr_contains(host, bytes_of("127.0.0.2")));
  const Cidr all = cidr("0.0.0.0/0");
  EXPECT_TRUE(cidr_contains(all, bytes_of("203.0.113.9")));
  EXPECT_FALSE(cidr_contains(all, bytes_of("2001:db8::1")));
}

TEST(Cidr, Ipv6AndMappedIpv4) {
  const Cidr v6 = cidr("2001:db8::/32");
  EXPECT_TRUE(cidr_contains(v6, bytes_of("2001:db8:ffff::1")));
  EXPECT_FALSE(cidr_contains(v6, bytes_of("2001:db9::1")));
  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
  EXPECT_TRUE(cidr_contains(cidr("10.0.0.0/8"), bytes_of("::ffff:10.1.2.3")));
  EXPECT_TRUE(cidr_contains(cidr("::ffff:10.0.0.0/104"), bytes_of("10.1.2.3")));
}

TEST(Cidr, RefusesWhatIsNotARange) {
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "2001:db8::/129", "10.0.0.1/8", "example.com",
                          "10.0.0.0/8x", "10.0.0.0/-1", "/8"}) {
    std::string why;
    EXPECT_FALSE(parse_cidr(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

}  // namespace
}  // namespace lb::config
