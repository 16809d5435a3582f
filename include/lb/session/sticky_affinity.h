#pragma once
// A sticky pool's affinity rules (session.mode: sticky), built once per
// config snapshot and shared read-only by every worker: which backend a
// request's cookie pins it to, whether that backend may still take it, and
// when the response must carry a (new) cookie. No shared store: the cookie
// itself is the state (session/sticky_cookie.h).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lb/balance/strategy.h"
#include "lb/config/config.h"
#include "lb/core/time.h"
#include "lb/http/header_list.h"
#include "lb/session/sticky_cookie.h"

namespace lb::session {

// Wall-clock Unix seconds: cookies are read by other processes and
// replicas, so their expiry cannot be on a process's steady clock.
int64_t unix_now();

class StickyAffinity {
 public:
  // `cookie.key` holds the secret the loader read from secret_file.
  StickyAffinity(const config::StickyCookie& cookie, std::string_view pool_name,
                 const balance::BackendList& backends);

  struct Pin {
    size_t backend_index = 0;  // in the pool's backend list
    int64_t expires = 0;       // Unix seconds
  };

  // The first cookie of ours among the request's Cookie headers that is
  // valid and names a backend of this pool. Forged, truncated, expired and
  // unknown-backend cookies are skipped (the request is then balanced).
  std::optional<Pin> find_pin(const http::HeaderList& headers, int64_t now_unix) const;

  // May a pinned client still go to `b`? Not when it is down, in maint or
  // passively ejected; a draining backend keeps the users pinned to it.
  static bool accepts_pinned(const balance::Backend& b, TimePoint now);

  // Must the response from backend `served` set the cookie? When the
  // request had no valid pin, was served elsewhere (re-pinned, retried), or
  // its cookie has less than half its lifetime left; never otherwise.
  bool needs_cookie(const std::optional<Pin>& pin, size_t served, int64_t now_unix) const;

  // The Set-Cookie value pinning the client to backend `index` for the TTL.
  std::string set_cookie(size_t backend_index, int64_t now_unix) const;

  const std::string& cookie_name() const { return cookie_.name; }
  int64_t ttl_seconds() const { return ttl_s_; }

 private:
  std::optional<size_t> index_of_id(uint64_t id) const;

  config::StickyCookie cookie_;
  StickyCookieCodec codec_;
  int64_t ttl_s_;
  std::string attributes_;                          // "; Path=/; Max-Age=...", built once
  std::vector<uint64_t> ids_;                       // per backend index
  std::vector<std::pair<uint64_t, size_t>> by_id_;  // sorted: id -> backend index
};

}  // namespace lb::session
