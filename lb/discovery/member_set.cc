#include "lb/discovery/member_set.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "lb/balance/backend.h"

namespace lb::discovery {
namespace {

sockaddr_storage with_port(sockaddr_storage ss, uint16_t port) {
  if (ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
  if (ss.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
  return ss;
}

std::string ip_text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  if (ss.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  return buf;
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    auto& x = reinterpret_cast<const sockaddr_in&>(a);
    auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    auto& x = reinterpret_cast<const sockaddr_in6&>(a);
    auto& y = reinterpret_cast<const sockaddr_in6&>(b);
    return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return true;
}

// Sorted by name, repeats removed, at most kMaxMembers.
MemberList finish(std::vector<Member> members) {
  std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) { return a.name < b.name; });
  members.erase(std::unique(members.begin(), members.end(),
                            [](const Member& a, const Member& b) { return a.name == b.name; }),
                members.end());
  MemberList out;
  if (members.size() > kMaxMembers) {
    out.dropped = members.size() - kMaxMembers;
    members.resize(kMaxMembers);
  }
  out.members = std::move(members);
  return out;
}

}  // namespace

std::string endpoint_text(const sockaddr_storage& address, uint16_t port) {
  return address.ss_family == AF_INET6 ? fmt::format("[{}]:{}", ip_text(address), port)
                                       : fmt::format("{}:{}", ip_text(address), port);
}

MemberList members_from_addresses(const std::vector<sockaddr_storage>& addresses, uint16_t port) {
  std::vector<Member> members;
  members.reserve(addresses.size());
  for (const sockaddr_storage& a : addresses) {
    if (a.ss_family != AF_INET && a.ss_family != AF_INET6) continue;
    Member m;
    m.name = endpoint_text(a, port);
    m.address = config::Address{ip_text(a), port, m.name};
    m.sockaddr = with_port(a, port);
    members.push_back(std::move(m));
  }
  return finish(std::move(members));
}

std::vector<SrvRecord> preferred_srv(std::vector<SrvRecord> records) {
  if (records.empty()) return records;
  uint16_t lowest = records.front().priority;
  for (const SrvRecord& r : records) lowest = std::min(lowest, r.priority);
  std::vector<SrvRecord> out;
  std::set<std::pair<std::string, uint16_t>> seen;
  for (SrvRecord& r : records) {
    if (r.priority != lowest) continue;
    if (!seen.insert({r.target, r.port}).second) continue;
    out.push_back(std::move(r));
  }
  return out;
}

uint32_t srv_weight(uint16_t weight, uint16_t heaviest) {
  if (heaviest == 0) return 1;
  const double scaled = std::round(double(weight) * 1000.0 / double(heaviest));
  return uint32_t(std::clamp(scaled, 1.0, 1000.0));
}

MemberList members_from_srv(const std::vector<SrvRecord>& records, const std::vector<sockaddr_storage>& addresses) {
  uint16_t heaviest = 0;
  for (const SrvRecord& r : records) heaviest = std::max(heaviest, r.weight);
  std::vector<Member> members;
  for (size_t i = 0; i < records.size() && i < addresses.size(); ++i) {
    const SrvRecord& r = records[i];
    if (addresses[i].ss_family != AF_INET && addresses[i].ss_family != AF_INET6) continue;
    Member m;
    m.name = fmt::format("{}:{}", r.target, r.port);
    m.address = config::Address{r.target, r.port, m.name};
    m.weight = srv_weight(r.weight, heaviest);
    m.sockaddr = with_port(addresses[i], r.port);
    members.push_back(std::move(m));
  }
  return finish(std::move(members));
}

MemberChange diff_members(const balance::BackendList& current, const std::vector<Member>& members) {
  MemberChange change;
  std::map<std::string, std::shared_ptr<balance::Backend>, std::less<>> by_name;
  for (const auto& b : current) by_name.emplace(b->name(), b);
  for (const Member& m : members) {
    auto it = by_name.find(m.name);
    if (it == by_name.end()) {
      auto b = std::make_shared<balance::Backend>(m.name, m.address, m.weight);
      b->set_sockaddr(m.sockaddr);
      change.added.push_back(b);
      change.backends.push_back(std::move(b));
      continue;
    }
    const auto& b = it->second;
    if (b->weight() != m.weight) change.weights_changed = true;
    if (b->weight() != m.weight || !same_address(b->sockaddr(), m.sockaddr))
      change.updates.push_back({b, m.weight, m.sockaddr});
    change.backends.push_back(b);
    by_name.erase(it);
  }
  for (const auto& b : current)
    if (by_name.contains(b->name())) change.removed.push_back(b);
  return change;
}

}  // namespace lb::discovery
