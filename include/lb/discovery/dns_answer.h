#pragma once
// Reading a DNS answer for discovery: the bytes come from a DNS server lbd
// does not control, so they are parsed by c-ares's parsers behind limits of
// our own, and everything kept is copied into plain values. Pure: no I/O.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

#include "lb/config/config.h"

namespace lb::discovery {

// An answer larger than this is refused as a failed lookup. 512 SRV
// records with 60-character targets fit in well under it. It also bounds
// how many records one answer can hold (kMaxRecords); member_set.h keeps
// at most kMaxMembers of them.
inline constexpr size_t kMaxAnswerBytes = 48 * 1024;
// The smallest resource record (a compressed name, fixed header, 4-byte
// A data) is 16 bytes.
inline constexpr size_t kMaxRecords = kMaxAnswerBytes / 16;

struct SrvRecord {
  std::string target;  // a host name, without the trailing dot
  uint16_t port = 0;
  uint16_t priority = 0;
  uint16_t weight = 0;
};

// What an answer held; `error` is empty when it is usable.
struct AddressRecords {
  std::string error;
  std::vector<sockaddr_storage> addresses;  // ports 0
  std::chrono::seconds ttl{0};              // the shortest; 0 = none
};

struct SrvRecords {
  std::string error;
  std::vector<SrvRecord> records;
  size_t refused = 0;  // records whose target is not a host name
};

// Letters, digits, '-', '_' and dots, 1..253 characters, no empty label:
// what may become a backend name in logs and metric labels.
bool is_dns_name(std::string_view name);

// An A (type a) or AAAA (type aaaa) answer's addresses.
AddressRecords parse_address_answer(std::span<const unsigned char> answer, config::DiscoveryType type);
// An SRV answer's records. A target "." (RFC 2782: the service is not
// offered here) is left out.
SrvRecords parse_srv_answer(std::span<const unsigned char> answer);

}  // namespace lb::discovery
