#pragma once
// The value of lbd's sticky cookie (DESIGN.md §1 "Session modes"): which
// backend a client is pinned to and until when, signed so that a client can
// neither forge nor alter it, and so that any lbd holding the same key and
// the same backend names honours it without a shared store.
//
// Wire form: base64url without padding of
//   version (1 byte, 1) | backend id (8 bytes, big-endian)
//   | expiry (8 bytes, big-endian Unix seconds) | HMAC-SHA256 of the 17 bytes before
// 66 characters in all. The backend is named by a stable id (a hash of the
// pool and backend names), never by its address: the cookie reveals no
// topology, and survives a backend moving to a new address.
#include <cstdint>
#include <string>
#include <string_view>

namespace lb::session {

// Stable across processes, replicas and restarts: XXH64 of
// "POOL\0BACKEND". The pool takes part so that a cookie issued by one pool
// names nothing in another that happens to have a backend of the same name.
uint64_t sticky_backend_id(std::string_view pool, std::string_view backend);

struct StickyClaim {
  uint64_t backend_id = 0;
  int64_t expires = 0;  // Unix seconds; the cookie is void from this second on
};

enum class CookieCheck {
  valid,
  malformed,  // wrong length, alphabet, encoding or version: not a cookie of ours
  forged,     // well-formed, but the signature does not match under this key
  expired,    // signed by us, past its expiry
};

struct CookieVerdict {
  CookieCheck check = CookieCheck::malformed;
  StickyClaim claim;  // meaningful only when check is valid or expired
};

const char* check_name(CookieCheck c);

class StickyCookieCodec {
 public:
  static constexpr size_t kEncodedSize = 66;

  explicit StickyCookieCodec(std::string key);

  std::string encode(const StickyClaim& claim) const;
  // The signature is compared in constant time and checked before the
  // expiry is looked at: nothing unauthenticated is trusted.
  CookieVerdict decode(std::string_view value, int64_t now_unix) const;

 private:
  std::string key_;
};

}  // namespace lb::session
