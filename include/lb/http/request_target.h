#pragma once
// Request targets (RFC 9112 §3.2). Clients talking to a proxy may send the
// absolute form ("http://host/path"); then the target's authority, not the
// Host header, names the host (§3.2.2), and the backend gets origin form.
#include <optional>
#include <string>
#include <string_view>

namespace lb::http {

struct AbsoluteTarget {
  std::string_view authority;  // "host[:port]"
  std::string_view origin;     // "/path?query", "/" when empty
};

// Splits an absolute-form target; nullopt for origin form (or anything else).
std::optional<AbsoluteTarget> split_absolute_form(std::string_view target);

// Rewrites the path of an origin- or absolute-form target in place into the
// one form lbd routes on and forwards, so that a path_prefix never matches
// one path while the backend reads another (`/v1/../admin` is `/admin`):
//  - percent-encoded unreserved characters (RFC 3986 §2.3) are decoded and
//    the other escapes get upper-case hex (§6.2.2.1-2), so `%2e%2E` is `..`;
//  - dot-segments are removed (§5.2.4; `/..` at the root stays at the root);
//  - a run of `/` becomes one, as nginx's merge_slashes does.
// The query is left alone. Refused, with the reason for a 400: a `%` not
// followed by two hex digits, and an encoded `/`, `\` or NUL (%2F, %5C,
// %00). nginx decodes %2F into a separator, Apache refuses it by default
// and backends disagree about it; decoding it would change what the backend
// sees and keeping it would let `/v1%2F..%2Fadmin` match `/v1/` for a
// backend that decodes: refusing is the only unambiguous answer.
// Other targets ("*", CONNECT's authority form) have no path: unchanged.
// Returns nullptr when the target is acceptable.
const char* normalise_target(std::string& target);

// True when the path of `target` (up to `?`) is already what
// normalise_target makes of it, or the target has no path at all.
bool is_normal_path(std::string_view target);

}  // namespace lb::http
