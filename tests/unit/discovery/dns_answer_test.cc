#include "lb/discovery/dns_answer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "dns_message.h"

namespace lb::discovery {
namespace {

using testing::DnsMessage;

std::string ip4(const sockaddr_storage& ss) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  return buf;
}

TEST(DnsAnswer, AddressesAndTheShortestTtl) {
  auto msg = DnsMessage("app.test", ns_t_a).a({10, 0, 0, 1}, 300).a({10, 0, 0, 2}, 7).bytes();
  AddressRecords r = parse_address_answer(msg, config::DiscoveryType::a);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.addresses.size(), 2u);
  EXPECT_EQ(ip4(r.addresses[0]), "10.0.0.1");
  EXPECT_EQ(ip4(r.addresses[1]), "10.0.0.2");
  EXPECT_EQ(r.ttl, std::chrono::seconds(7));
}

TEST(DnsAnswer, Aaaa) {
  const uint8_t v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
  auto msg = DnsMessage("app.test", ns_t_aaaa).aaaa(v6).bytes();
  AddressRecords r = parse_address_answer(msg, config::DiscoveryType::aaaa);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.addresses.size(), 1u);
  EXPECT_EQ(r.addresses[0].ss_family, AF_INET6);
}

TEST(DnsAnswer, NoRecordIsAFailure) {
  auto msg = DnsMessage("app.test", ns_t_a).bytes();
  EXPECT_NE(parse_address_answer(msg, config::DiscoveryType::a).error, "");
  EXPECT_NE(parse_srv_answer(DnsMessage("_x._tcp.test", ns_t_srv).bytes()).error, "");
}

TEST(DnsAnswer, SrvRecords) {
  auto msg = DnsMessage("_http._tcp.test", ns_t_srv)
                 .srv(10, 60, 8080, "a.test")
                 .srv(10, 20, 8081, "b.test.")
                 .srv(20, 0, 9000, ".")  // "not offered": left out
                 .bytes();
  SrvRecords r = parse_srv_answer(msg);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].target, "a.test");
  EXPECT_EQ(r.records[0].port, 8080);
  EXPECT_EQ(r.records[0].weight, 60);
  EXPECT_EQ(r.records[1].target, "b.test");
  EXPECT_EQ(r.records[1].priority, 10);
}

// Hostile answers: every one is a clean failure or a bounded result.
TEST(DnsAnswer, OverTheSizeLimitIsRefused) {
  DnsMessage m("app.test", ns_t_a);
  for (int i = 0; i < 4000; ++i) m.a({10, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)});
  auto bytes = m.bytes();
  ASSERT_GT(bytes.size(), kMaxAnswerBytes);
  AddressRecords r = parse_address_answer(bytes, config::DiscoveryType::a);
  EXPECT_NE(r.error.find("limit"), std::string::npos) << r.error;
  EXPECT_TRUE(r.addresses.empty());
  EXPECT_NE(parse_srv_answer(bytes).error.find("limit"), std::string::npos);
}

TEST(DnsAnswer, AsManyRecordsAsFitAreRead) {
  DnsMessage m("app.test", ns_t_a);
  for (int i = 0; i < 2000; ++i) m.a({10, 1, uint8_t(i >> 8), uint8_t(i)});
  AddressRecords r = parse_address_answer(m.bytes(), config::DiscoveryType::a);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.addresses.size(), 2000u);  // member_set.h keeps kMaxMembers of them
}

TEST(DnsAnswer, TruncatedAndGarbageBytesFail) {
  auto msg = DnsMessage("app.test", ns_t_a).a({10, 0, 0, 1}).bytes();
  for (size_t cut : {size_t(0), size_t(5), size_t(12), msg.size() - 1}) {
    std::vector<unsigned char> part(msg.begin(), msg.begin() + long(cut));
    EXPECT_NE(parse_address_answer(part, config::DiscoveryType::a).error, "") << cut;
    EXPECT_NE(parse_srv_answer(part).error, "") << cut;
  }
  std::vector<unsigned char> noise(300, 0xC0);  // compression pointers all the way down
  EXPECT_NE(parse_address_answer(noise, config::DiscoveryType::a).error, "");
  EXPECT_NE(parse_srv_answer(noise).error, "");
}

TEST(DnsAnswer, SrvTargetsThatAreNotHostNamesAreRefused) {
  auto msg = DnsMessage("_x._tcp.test", ns_t_srv)
                 .srv(0, 1, 80, std::string("evil\x01name.test", 14))
                 .srv(0, 1, 80, "has space.test")
                 .srv(0, 1, 80, "ok.test")
                 .srv(0, 1, 0, "port-zero.test")
                 .bytes();
  SrvRecords r = parse_srv_answer(msg);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].target, "ok.test");
  EXPECT_EQ(r.refused, 2u);
}

TEST(DnsAnswer, SrvDataShorterThanItsFieldsFails) {
  auto msg = DnsMessage("_x._tcp.test", ns_t_srv).raw_record(ns_t_srv, {0, 1, 0}).bytes();
  EXPECT_NE(parse_srv_answer(msg).error, "");
}

TEST(DnsName, Shapes) {
  EXPECT_TRUE(is_dns_name("a.b-c.d_e"));
  EXPECT_FALSE(is_dns_name(""));
  EXPECT_FALSE(is_dns_name("a..b"));
  EXPECT_FALSE(is_dns_name(".a"));
  EXPECT_FALSE(is_dns_name(std::string(64, 'a')));
  EXPECT_TRUE(is_dns_name(std::string(63, 'a')));
  EXPECT_FALSE(is_dns_name(std::string(300, 'a')));
}

}  // namespace
}  // namespace lb::discovery
