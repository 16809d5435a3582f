#include "lb/discovery/member_set.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "lb/balance/backend.h"

namespace lb::discovery {
namespace {

sockaddr_storage v4(const char* ip) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  inet_pton(AF_INET, ip, &a->sin_addr);
  return ss;
}

sockaddr_storage v6(const char* ip) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  inet_pton(AF_INET6, ip, &a->sin6_addr);
  return ss;
}

uint16_t port_of(const sockaddr_storage& ss) { return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port); }

std::vector<std::string> names(const MemberList& l) {
  std::vector<std::string> out;
  for (const auto& m : l.members) out.push_back(m.name);
  return out;
}

TEST(MemberSet, AddressesBecomeSortedUniqueMembersWithThePort) {
  MemberList l = members_from_addresses({v4("10.0.0.2"), v4("10.0.0.1"), v4("10.0.0.2"), v6("fd00::5")}, 8080);
  EXPECT_EQ(names(l), (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:8080", "[fd00::5]:8080"}));
  EXPECT_EQ(port_of(l.members[0].sockaddr), 8080);
  EXPECT_EQ(l.members[0].address.host, "10.0.0.1");
  EXPECT_EQ(l.members[0].weight, 1u);
  EXPECT_EQ(l.dropped, 0u);
}

TEST(MemberSet, AtMostMaxMembersWhateverTheAnswerOrder) {
  std::vector<sockaddr_storage> many;
  for (int i = 0; i < 1000; ++i) many.push_back(v4(("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)).c_str()));
  MemberList first = members_from_addresses(many, 80);
  std::reverse(many.begin(), many.end());  // DNS servers rotate their answers
  MemberList second = members_from_addresses(many, 80);
  EXPECT_EQ(first.members.size(), kMaxMembers);
  EXPECT_EQ(first.dropped, 1000 - kMaxMembers);
  EXPECT_EQ(names(first), names(second));
}

TEST(MemberSet, SrvWeightsKeepTheirRatioToTheHeaviest) {
  EXPECT_EQ(srv_weight(65535, 65535), 1000u);
  EXPECT_EQ(srv_weight(10, 20), 500u);
  EXPECT_EQ(srv_weight(1, 3), 333u);
  EXPECT_EQ(srv_weight(0, 100), 1u);  // "rarely chosen", still chosen
  EXPECT_EQ(srv_weight(1, 65535), 1u);
  EXPECT_EQ(srv_weight(0, 0), 1u);  // all zero: equal
  EXPECT_EQ(srv_weight(5, 5), 1000u);
}

TEST(MemberSet, OnlyTheLowestPriorityServesAndRepeatsGo) {
  auto kept = preferred_srv({{"b.test", 80, 20, 5}, {"a.test", 80, 10, 5}, {"a.test", 80, 10, 9}, {"c.test", 81, 10, 1}});
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].target, "a.test");
  EXPECT_EQ(kept[0].weight, 5);
  EXPECT_EQ(kept[1].target, "c.test");
}

TEST(MemberSet, SrvMembersSkipTargetsThatDidNotResolve) {
  std::vector<SrvRecord> records = {{"a.test", 8080, 0, 30}, {"b.test", 8081, 0, 10}, {"c.test", 8082, 0, 60}};
  MemberList l = members_from_srv(records, {v4("10.0.0.1"), sockaddr_storage{}, v4("10.0.0.3")});
  ASSERT_EQ(names(l), (std::vector<std::string>{"a.test:8080", "c.test:8082"}));
  EXPECT_EQ(l.members[0].weight, 500u);
  EXPECT_EQ(l.members[1].weight, 1000u);
  EXPECT_EQ(port_of(l.members[1].sockaddr), 8082);
  EXPECT_EQ(l.members[1].address.host, "c.test");
}

balance::BackendList backends_for(const MemberList& l) {
  balance::BackendList out;
  for (const auto& m : l.members) {
    auto b = std::make_shared<balance::Backend>(m.name, m.address, m.weight);
    out.push_back(b);
  }
  return out;
}

TEST(MemberSet, DiffKeepsTheObjectsOfMembersThatStay) {
  const auto before = backends_for(members_from_addresses({v4("10.0.0.1"), v4("10.0.0.2")}, 80));
  before[0]->set_healthy(false);  // state that must survive
  MemberChange c = diff_members(before, members_from_addresses({v4("10.0.0.1"), v4("10.0.0.3")}, 80).members);
  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[0], before[0]);
  EXPECT_FALSE(c.backends[0]->healthy());
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_EQ(c.added[0]->name(), "10.0.0.3:80");
  EXPECT_EQ(c.added[0]->sockaddr().ss_family, AF_INET);
  ASSERT_EQ(c.removed.size(), 1u);
  EXPECT_EQ(c.removed[0], before[1]);
  EXPECT_TRUE(c.membership_changed());
}

TEST(MemberSet, TheSameAnswerChangesNothing) {
  const auto list = members_from_addresses({v4("10.0.0.1"), v4("10.0.0.2")}, 80);
  auto current = backends_for(list);
  for (size_t i = 0; i < current.size(); ++i) current[i]->set_sockaddr(list.members[i].sockaddr);
  MemberChange c = diff_members(current, list.members);
  EXPECT_FALSE(c.membership_changed());
  EXPECT_TRUE(c.updates.empty());
  EXPECT_EQ(c.backends, current);
}

TEST(MemberSet, ASrvTargetThatMovesIsAnUpdateNotANewMember) {
  std::vector<SrvRecord> records = {{"a.test", 8080, 0, 10}, {"b.test", 8080, 0, 10}};
  auto first = members_from_srv(records, {v4("10.0.0.1"), v4("10.0.0.2")});
  auto current = backends_for(first);
  for (size_t i = 0; i < current.size(); ++i) current[i]->set_sockaddr(first.members[i].sockaddr);
  records[1].weight = 5;  // and a.test moved
  auto second = members_from_srv(records, {v4("10.0.0.9"), v4("10.0.0.2")});
  MemberChange c = diff_members(current, second.members);
  EXPECT_TRUE(c.added.empty());
  EXPECT_TRUE(c.removed.empty());
  EXPECT_TRUE(c.weights_changed);
  ASSERT_EQ(c.updates.size(), 2u);
  EXPECT_EQ(c.updates[0].backend, current[0]);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(c.updates[0].sockaddr).sin_addr.s_addr,
            reinterpret_cast<const sockaddr_in&>(second.members[0].sockaddr).sin_addr.s_addr);
  EXPECT_EQ(c.updates[1].weight, 500u);
}

}  // namespace
}  // namespace lb::discovery
