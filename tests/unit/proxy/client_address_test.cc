#include "lb/proxy/client_address.h"

#include <gtest/gtest.h>

#include "lb/config/cidr.h"

namespace lb::proxy {
namespace {

std::vector<config::Cidr> ranges(std::initializer_list<const char*> texts) {
  std::vector<config::Cidr> out;
  for (const char* t : texts) {
    std::string why;
    out.push_back(*config::parse_cidr(t, why));
  }
  return out;
}

ClientAddress at(const char* ip) {
  ClientAddress a;
  EXPECT_TRUE(a.assign_text(ip)) << ip;
  return a;
}

std::string client_of(const char* peer, const std::vector<config::Cidr>& trusted,
                      std::vector<std::string_view> xff) {
  return request_client(at(peer), trusted, xff).text();
}

TEST(ClientAddress, UntrustedPeerIsTheClientWhateverItSays) {
  const auto trusted = ranges({"10.0.0.0/8"});
  EXPECT_EQ(client_of("203.0.113.5", trusted, {"1.2.3.4"}), "203.0.113.5");
  EXPECT_EQ(client_of("10.0.0.1", {}, {"1.2.3.4"}), "10.0.0.1");  // nobody trusted
}

TEST(ClientAddress, RightmostUntrustedEntryOfTheChain) {
  const auto trusted = ranges({"10.0.0.0/8", "192.168.0.0/16"});
  // client, forged, CDN edge (untrusted), our proxies
  EXPECT_EQ(client_of("10.0.0.1", trusted, {"6.6.6.6, 198.51.100.9, 192.168.1.1"}), "198.51.100.9");
  // Over several fields, in the order received.
  EXPECT_EQ(client_of("10.0.0.1", trusted, {"6.6.6.6, 198.51.100.9", "10.2.2.2"}), "198.51.100.9");
  EXPECT_EQ(client_of("10.0.0.1", trusted, {"198.51.100.9"}), "198.51.100.9");
  EXPECT_EQ(client_of("10.0.0.1", trusted, {" 2001:db8::5 ,\t10.9.9.9 "}), "2001:db8::5");
  EXPECT_EQ(client_of("10.0.0.1", trusted, {"[2001:db8::5]"}), "2001:db8::5");
}

TEST(ClientAddress, EveryHopTrustedGivesTheLeftmost) {
  const auto trusted = ranges({"10.0.0.0/8"});
  EXPECT_EQ(client_of("10.0.0.1", trusted, {"10.0.0.3, 10.0.0.2"}), "10.0.0.3");
  EXPECT_EQ(client_of("10.0.0.1", trusted, {}), "10.0.0.1");
}

TEST(ClientAddress, GarbledEntryStopsTheWalkAtTheLastTrustedHop) {
  const auto trusted = ranges({"10.0.0.0/8"});
  EXPECT_EQ(client_of("10.0.0.1", trusted, {"1.1.1.1, unknown, 10.0.0.7"}), "10.0.0.7");
  EXPECT_EQ(client_of("10.0.0.1", trusted, {"1.1.1.1:8080"}), "10.0.0.1");
  EXPECT_EQ(client_of("10.0.0.1", trusted, {std::string_view("1.1.1.1\0", 8)}), "10.0.0.1");
}

TEST(ClientAddress, EmptyEntriesAreSkipped) {
  const auto trusted = ranges({"10.0.0.0/8"});
  EXPECT_EQ(client_of("10.0.0.1", trusted, {"1.1.1.1,, ,"}), "1.1.1.1");
}

TEST(ClientAddress, BytesAreWhatHashingAndMatchingUse) {
  EXPECT_EQ(at("127.0.0.1").bytes(), std::string_view("\x7f\x00\x00\x01", 4));
  EXPECT_EQ(at("::1").bytes().size(), 16u);
  ClientAddress none;
  EXPECT_EQ(none.bytes().size(), 0u);
  EXPECT_STREQ(none.text(), "-");
  EXPECT_FALSE(none.assign_text("not-an-ip"));
}

}  // namespace
}  // namespace lb::proxy
