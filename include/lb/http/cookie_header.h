#pragma once
// Reading and pruning one cookie in a Cookie request header
// ("a=1; b=2", RFC 6265 §4.2) without disturbing the others.
#include <string>
#include <string_view>

#include "lb/http/ows.h"

namespace lb::http {

// Calls fn(value) for every cookie called `name` (exact, case-sensitive, as
// browsers compare them) in one Cookie header value, in order. A value in
// DQUOTEs is handed over without them.
template <typename Fn>
void for_each_cookie_named(std::string_view header, std::string_view name, Fn&& fn);

// Appends to `out` the header value without any cookie called `name`: the
// other pairs keep their bytes and order, joined by "; ". Returns how many
// were removed; when none were, `out` receives the header unchanged.
size_t append_without_cookie(std::string_view header, std::string_view name, std::string& out);

// ---- implementation ----

namespace cookie_detail {
// Splits off the next "name=value" pair (trimmed) from `rest`.
inline std::string_view next_pair(std::string_view& rest) {
  const size_t semi = rest.find(';');
  const std::string_view pair = trim_ows(rest.substr(0, semi));
  rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
  return pair;
}
inline bool pair_named(std::string_view pair, std::string_view name) {
  const size_t eq = pair.find('=');
  return eq != std::string_view::npos && trim_ows(pair.substr(0, eq)) == name;
}
}  // namespace cookie_detail

template <typename Fn>
void for_each_cookie_named(std::string_view header, std::string_view name, Fn&& fn) {
  while (!header.empty()) {
    const std::string_view pair = cookie_detail::next_pair(header);
    if (!cookie_detail::pair_named(pair, name)) continue;
    std::string_view value = trim_ows(pair.substr(pair.find('=') + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    fn(value);
  }
}

}  // namespace lb::http
