#include "lb/config/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace lb::config {

namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

std::optional<Cidr> parse_cidr(std::string_view text, std::string& why) {
  Cidr c;
  const size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  char buf[INET6_ADDRSTRLEN];
  if (addr.empty() || addr.size() >= sizeof buf || addr.find('\0') != std::string_view::npos) {
    why = "must be an IP address or a CIDR range, e.g. 10.0.0.0/8";
    return std::nullopt;
  }
  std::memcpy(buf, addr.data(), addr.size());
  buf[addr.size()] = 0;
  if (inet_pton(AF_INET, buf, c.bytes) == 1) {
    c.length = 4;
  } else if (inet_pton(AF_INET6, buf, c.bytes) == 1) {
    c.length = 16;
  } else {
    why = "'" + std::string(addr) + "' is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  const unsigned max_bits = c.length * 8;
  c.prefix = uint8_t(max_bits);
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), v);
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || v > max_bits) {
      why = "prefix length must be 0.." + std::to_string(max_bits);
      return std::nullopt;
    }
    c.prefix = uint8_t(v);
  }
  for (unsigned bit = c.prefix; bit < max_bits; ++bit) {
    if (c.bytes[bit / 8] & (0x80 >> (bit % 8))) {
      why = "has bits set past its /" + std::to_string(c.prefix) + " prefix";
      return std::nullopt;
    }
  }
  // IPv4 ranges also match as mapped IPv6 (below), so store them as IPv4.
  if (c.length == 16 && c.prefix >= 96 && std::memcmp(c.bytes, kMappedPrefix, 12) == 0) {
    std::memmove(c.bytes, c.bytes + 12, 4);
    c.length = 4;
    c.prefix = uint8_t(c.prefix - 96);
  }
  return c;
}

bool cidr_contains(const Cidr& range, std::string_view address) {
  if (address.size() == 16 && range.length == 4 && std::memcmp(address.data(), kMappedPrefix, 12) == 0)
    address.remove_prefix(12);
  if (address.size() != range.length) return false;
  const auto* a = reinterpret_cast<const uint8_t*>(address.data());
  const unsigned full = range.prefix / 8;
  if (std::memcmp(a, range.bytes, full) != 0) return false;
  const unsigned rest = range.prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = uint8_t(0xff00 >> rest);
  return (a[full] & mask) == (range.bytes[full] & mask);
}

bool any_contains(const std::vector<Cidr>& ranges, std::string_view address) {
  for (const Cidr& r : ranges)
    if (cidr_contains(r, address)) return true;
  return false;
}

}  // namespace lb::config
