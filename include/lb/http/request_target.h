#pragma once
// Request targets (RFC 9112 §3.2). Clients talking to a proxy may send the
// absolute form ("http://host/path"); then the target's authority, not the
// Host header, names the host (§3.2.2), and the backend gets origin form.
#include <optional>
#include <string_view>

namespace lb::http {

struct AbsoluteTarget {
  std::string_view authority;  // "host[:port]"
  std::string_view origin;     // "/path?query", "/" when empty
};

// Splits an absolute-form target; nullopt for origin form (or anything else).
std::optional<AbsoluteTarget> split_absolute_form(std::string_view target);

}  // namespace lb::http
