// DNS answers for discovery (lb/discovery/dns_answer.h, member_set.h): the
// bytes a DNS server lbd does not control sends back. The first input byte
// picks the query type (A, AAAA, SRV), the rest is the answer. Whatever it
// holds, parsing must end cleanly, and the member list built from it must
// keep lbd's limits: at most kMaxMembers, unique names, weights 1..1000,
// SRV targets that are host names.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <set>
#include <span>
#include <vector>

#include "fuzz_check.h"
#include "lb/discovery/dns_answer.h"
#include "lb/discovery/member_set.h"

using namespace lb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int kind = data[0] % 3;
  const std::span<const unsigned char> answer(data + 1, size - 1);
  discovery::MemberList list;
  if (kind == 2) {
    discovery::SrvRecords r = discovery::parse_srv_answer(answer);
    FUZZ_CHECK(r.error.empty() != r.records.empty());
    for (const auto& rec : r.records) FUZZ_CHECK(discovery::is_dns_name(rec.target) && rec.port != 0);
    auto preferred = discovery::preferred_srv(r.records);
    std::vector<sockaddr_storage> addresses(preferred.size());
    for (size_t i = 0; i < addresses.size(); ++i) {  // every other target "resolves"
      if (i % 2) continue;
      auto* a = reinterpret_cast<sockaddr_in*>(&addresses[i]);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(0x0a000000u + uint32_t(i));
    }
    list = discovery::members_from_srv(preferred, addresses);
  } else {
    const auto type = kind == 0 ? config::DiscoveryType::a : config::DiscoveryType::aaaa;
    discovery::AddressRecords r = discovery::parse_address_answer(answer, type);
    FUZZ_CHECK(r.error.empty() != r.addresses.empty());
    FUZZ_CHECK(r.addresses.size() <= discovery::kMaxRecords);
    list = discovery::members_from_addresses(r.addresses, 8080);
  }
  FUZZ_CHECK(list.members.size() <= discovery::kMaxMembers);
  std::set<std::string> names;
  for (const auto& m : list.members) {
    FUZZ_CHECK(names.insert(m.name).second);
    FUZZ_CHECK(m.weight >= 1 && m.weight <= 1000);
    FUZZ_CHECK(m.sockaddr.ss_family == AF_INET || m.sockaddr.ss_family == AF_INET6);
  }
  return 0;
}
