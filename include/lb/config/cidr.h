#pragma once
// Address ranges written as CIDR ("10.0.0.0/8", "2001:db8::/32", or a bare
// address for one host), as `trusted_proxies` lists them. Parsed once at
// load; matched against the 4 or 16 address bytes a connection has. An
// IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket
// reports for an IPv4 client) matches the IPv4 ranges.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lb::config {

// An address range: `trusted_proxies`, a route's `client_cidr`.
struct Cidr {
  uint8_t bytes[16] = {};
  uint8_t length = 4;  // 4 (IPv4) or 16 (IPv6) address bytes
  uint8_t prefix = 32;
  std::string text;    // as written
};

// The range, or nullopt with the reason in `why`. Bits set past the prefix
// ("10.0.0.1/8") are refused: they usually mean a typo in the prefix.
std::optional<Cidr> parse_cidr(std::string_view text, std::string& why);

// `address` is 4 or 16 raw bytes (network order).
bool cidr_contains(const Cidr& range, std::string_view address);
bool any_contains(const std::vector<Cidr>& ranges, std::string_view address);

}  // namespace lb::config
