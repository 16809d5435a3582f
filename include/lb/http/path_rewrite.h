#pragma once
// A route's strip_prefix / add_prefix applied to the origin-form target it
// forwards ("/api/users?x=1"): the query string is kept as it came, and the
// result is still an origin-form target ("/" at least, never "//"-joined).
#include <string>
#include <string_view>

namespace lb::http {

struct PathRewrite {
  std::string strip_prefix;  // "" = none; taken off only when the path starts with it
  std::string add_prefix;    // "" = none; put in front of what is left

  bool empty() const { return strip_prefix.empty() && add_prefix.empty(); }
};

// Appends the rewritten form of `origin` ("/path?query", a normalised path)
// to `out`.
void rewrite_origin(std::string_view origin, const PathRewrite& rewrite, std::string& out);

// Why `prefix` cannot be a strip_prefix or add_prefix, or nullptr: it must
// be a normalised absolute path ("/api", "/v2/") without query or fragment.
const char* invalid_prefix(std::string_view prefix);

}  // namespace lb::http
