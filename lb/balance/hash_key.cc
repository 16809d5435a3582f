#include "lb/balance/hash_key.h"

#include <netinet/in.h>
#include <xxhash.h>

#include "lb/http/cookie_header.h"

namespace lb::balance {

namespace {

uint64_t hash_bytes(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

std::optional<uint64_t> hash_value(std::optional<std::string_view> value) {
  if (!value || value->empty()) return std::nullopt;
  return hash_bytes(*value);
}

std::optional<std::string_view> cookie_value(const HeaderLookup* headers, std::string_view name) {
  if (!headers) return std::nullopt;
  const auto cookie_header = headers->find("cookie");
  if (!cookie_header) return std::nullopt;
  return find_cookie(*cookie_header, name);
}

}  // namespace

std::optional<HashKey> parse_hash_key(std::string_view spec) {
  if (spec == "client_ip") return HashKey{HashKey::Source::client_ip, {}};
  if (spec == "uri") return HashKey{HashKey::Source::uri, {}};
  for (auto [prefix, source] : {std::pair{std::string_view("header:"), HashKey::Source::header},
                                std::pair{std::string_view("cookie:"), HashKey::Source::cookie}}) {
    if (!spec.starts_with(prefix)) continue;
    const std::string_view name = spec.substr(prefix.size());
    if (name.empty() || name.find_first_of(" \t;=,") != std::string_view::npos) return std::nullopt;
    return HashKey{source, std::string(name)};
  }
  return std::nullopt;
}

std::optional<uint64_t> hash_request(const HashKey& key, const RequestView& request) {
  switch (key.source) {
    case HashKey::Source::client_ip:
      if (request.client_address.empty()) return std::nullopt;
      return hash_client_address(request.client_address);
    case HashKey::Source::uri:
      return hash_value(request.uri.substr(0, request.uri.find('?')));
    case HashKey::Source::header:
      return request.headers ? hash_value(request.headers->find(key.name)) : std::nullopt;
    case HashKey::Source::cookie:
      return hash_value(cookie_value(request.headers, key.name));
  }
  return std::nullopt;
}

uint64_t hash_client_address(std::string_view address) {
  static constexpr unsigned char kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  const std::string_view prefix(reinterpret_cast<const char*>(kV4MappedPrefix), sizeof kV4MappedPrefix);
  if (address.size() == 16 && address.starts_with(prefix)) address.remove_prefix(prefix.size());
  return hash_bytes(address);
}

std::string_view address_bytes(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr).sin_addr;
    return {reinterpret_cast<const char*>(&in), sizeof in};
  }
  if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
    return {reinterpret_cast<const char*>(&in6), sizeof in6};
  }
  return {};
}

std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name) {
  // The first, as the sticky-cookie reader takes it (same parsing rules).
  std::optional<std::string_view> first;
  http::for_each_cookie_named(header, name, [&first](std::string_view value) {
    if (!first) first = value;
  });
  return first;
}

}  // namespace lb::balance
