#pragma once
// What ip_hash and consistent_hash hash: the pool's `hash_key` setting
// (client_ip | uri | header:NAME | cookie:NAME), parsed once at config load,
// applied per request to a narrow view of the request so this stays
// independent of the HTTP code. Hashing is XXH3-64.
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lb::balance {

struct HashKey {
  enum class Source { client_ip, uri, header, cookie };
  Source source = Source::client_ip;
  std::string name;  // header name (any case) or cookie name (exact)

  bool operator==(const HashKey&) const = default;
};

// nullopt: not one of the four forms, or an empty NAME.
std::optional<HashKey> parse_hash_key(std::string_view spec);

// How the proxy lends its parsed headers.
class HeaderLookup {
 public:
  // The value of the first header called `name`, compared case-insensitively.
  virtual std::optional<std::string_view> find(std::string_view name) const = 0;

 protected:
  ~HeaderLookup() = default;
};

struct RequestView {
  std::string_view client_address;  // raw address bytes (address_bytes())
  std::string_view uri;             // request target as received
  const HeaderLookup* headers = nullptr;
};

// The request's key hash, or nullopt when the request lacks the key (no or
// empty header/cookie, no client address): the strategy then rotates.
// `uri` hashes the path without the query string, like nginx's $uri and
// HAProxy's `balance uri`.
std::optional<uint64_t> hash_request(const HashKey& key, const RequestView& request);

// The hash ip_hash uses. An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
// hashes as the IPv4 address it carries, so dual-stack listeners agree.
uint64_t hash_client_address(std::string_view address_bytes);

// The 4 or 16 address bytes inside `addr` (a view into it), or empty for
// other families.
std::string_view address_bytes(const sockaddr_storage& addr);

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or nullopt.
std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name);

}  // namespace lb::balance
