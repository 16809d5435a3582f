#include "lb/session/sticky_affinity.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "lb/http/cookie_header.h"

namespace lb::session {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StickyAffinity::StickyAffinity(const config::StickyCookie& cookie, std::string_view pool_name,
                               const balance::BackendList& backends)
    : cookie_(cookie),
      codec_(cookie.key),
      // Cookies count in whole seconds; the loader refuses a TTL below 1s.
      ttl_s_(std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(cookie.ttl).count())) {
  cookie_.key.clear();  // the codec holds the one copy this object needs
  attributes_ = "; Path=/; Max-Age=" + std::to_string(ttl_s_);
  if (cookie.http_only) attributes_ += "; HttpOnly";
  if (cookie.secure) attributes_ += "; Secure";
  if (!cookie.same_site.empty()) attributes_ += "; SameSite=" + cookie.same_site;

  ids_.reserve(backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    ids_.push_back(sticky_backend_id(pool_name, backends[i]->name()));
    by_id_.emplace_back(ids_.back(), i);
  }
  std::sort(by_id_.begin(), by_id_.end());
  // Two names of one pool hashing alike is a 2^-64 event; if it ever
  // happens, neither is pinnable rather than one user landing on the other.
  for (size_t i = 1; i < by_id_.size(); ++i) {
    if (by_id_[i].first != by_id_[i - 1].first) continue;
    spdlog::error("pool {}: backends {} and {} have the same sticky id; cookies naming it are ignored",
                  pool_name, backends[by_id_[i - 1].second]->name(), backends[by_id_[i].second]->name());
    by_id_[i - 1].second = by_id_[i].second = SIZE_MAX;
  }
}

std::optional<size_t> StickyAffinity::index_of_id(uint64_t id) const {
  const auto it = std::lower_bound(by_id_.begin(), by_id_.end(), std::pair<uint64_t, size_t>{id, 0});
  if (it == by_id_.end() || it->first != id || it->second == SIZE_MAX) return std::nullopt;
  return it->second;
}

std::optional<StickyAffinity::Pin> StickyAffinity::find_pin(const http::HeaderList& headers,
                                                            int64_t now_unix) const {
  std::optional<Pin> pin;
  for (size_t i = 0; i < headers.size() && !pin; ++i) {
    if (headers.id(i) != http::FieldId::cookie) continue;
    http::for_each_cookie_named(headers.value(i), cookie_.name, [&](std::string_view value) {
      if (pin) return;
      const CookieVerdict v = codec_.decode(value, now_unix);
      if (v.check != CookieCheck::valid) {
        spdlog::debug("sticky cookie {} ignored: {}", cookie_.name, check_name(v.check));
        return;
      }
      if (auto index = index_of_id(v.claim.backend_id)) {
        pin = Pin{*index, v.claim.expires};
      } else {
        spdlog::debug("sticky cookie {} ignored: names no backend of this pool", cookie_.name);
      }
    });
  }
  return pin;
}

bool StickyAffinity::accepts_pinned(const balance::Backend& b, TimePoint now) {
  return b.usable_for_pinned_at(now);
}

bool StickyAffinity::needs_cookie(const std::optional<Pin>& pin, size_t served, int64_t now_unix) const {
  if (!pin || pin->backend_index != served) return true;
  return (pin->expires - now_unix) * 2 < ttl_s_;
}

std::string StickyAffinity::set_cookie(size_t backend_index, int64_t now_unix) const {
  std::string out = cookie_.name;
  out += '=';
  out += codec_.encode({ids_[backend_index], now_unix + ttl_s_});
  out += attributes_;
  return out;
}

}  // namespace lb::session
