#include "lb/discovery/dns_answer.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace lb::discovery {
namespace {

std::string too_large(size_t size) {
  return fmt::format("answer of {} bytes is over the {}-byte limit", size, kMaxAnswerBytes);
}

}  // namespace

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

AddressRecords parse_address_answer(std::span<const unsigned char> answer, config::DiscoveryType type) {
  AddressRecords out;
  if (answer.size() > kMaxAnswerBytes) {
    out.error = too_large(answer.size());
    return out;
  }
  constexpr int kSlots = int(kMaxRecords);
  int count = kSlots;
  int rc;
  const bool v6 = type == config::DiscoveryType::aaaa;
  std::vector<ares_addrttl> ttl4(v6 ? 0 : kSlots);
  std::vector<ares_addr6ttl> ttl6(v6 ? kSlots : 0);
  if (v6)
    rc = ares_parse_aaaa_reply(answer.data(), int(answer.size()), nullptr, ttl6.data(), &count);
  else
    rc = ares_parse_a_reply(answer.data(), int(answer.size()), nullptr, ttl4.data(), &count);
  if (rc != ARES_SUCCESS) {
    out.error = ares_strerror(rc);
    return out;
  }
  count = std::clamp(count, 0, kSlots);
  int ttl = -1;
  for (int i = 0; i < count; ++i) {
    sockaddr_storage ss{};
    int record_ttl;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      std::memcpy(&a->sin6_addr, &ttl6[size_t(i)].ip6addr, sizeof(a->sin6_addr));
      record_ttl = ttl6[size_t(i)].ttl;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_addr = ttl4[size_t(i)].ipaddr;
      record_ttl = ttl4[size_t(i)].ttl;
    }
    out.addresses.push_back(ss);
    if (record_ttl > 0 && (ttl < 0 || record_ttl < ttl)) ttl = record_ttl;
  }
  if (out.addresses.empty()) out.error = v6 ? "no AAAA record" : "no A record";
  out.ttl = std::chrono::seconds(std::max(ttl, 0));
  return out;
}

SrvRecords parse_srv_answer(std::span<const unsigned char> answer) {
  SrvRecords out;
  if (answer.size() > kMaxAnswerBytes) {
    out.error = too_large(answer.size());
    return out;
  }
  ares_srv_reply* head = nullptr;
  const int rc = ares_parse_srv_reply(answer.data(), int(answer.size()), &head);
  std::unique_ptr<ares_srv_reply, void (*)(void*)> owned(head, ares_free_data);
  if (rc != ARES_SUCCESS) {
    out.error = ares_strerror(rc);
    return out;
  }
  for (ares_srv_reply* r = head; r; r = r->next) {
    std::string target = r->host ? r->host : "";
    if (!target.empty() && target.back() == '.') target.pop_back();
    if (target.empty() || r->port == 0) continue;  // "." : not offered; port 0 cannot be reached
    if (!is_dns_name(target)) {
      ++out.refused;
      continue;
    }
    out.records.push_back({std::move(target), r->port, r->priority, r->weight});
  }
  if (out.records.empty()) out.error = "no usable SRV record";
  return out;
}

}  // namespace lb::discovery
