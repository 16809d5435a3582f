#include "lb/http/path_rewrite.h"

#include "lb/http/request_target.h"

namespace lb::http {

void rewrite_origin(std::string_view origin, const PathRewrite& rw, std::string& out) {
  const size_t q = origin.find('?');
  std::string_view path = origin.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : origin.substr(q);
  if (!rw.strip_prefix.empty() && path.starts_with(rw.strip_prefix)) path.remove_prefix(rw.strip_prefix.size());
  // Join with exactly one '/', so a normalised path stays normalised.
  std::string_view add = rw.add_prefix;
  if (!add.empty() && add.back() == '/' && path.starts_with('/')) add.remove_suffix(1);
  out.append(add);
  if (path.empty()) {
    if (add.empty()) out.push_back('/');
  } else {
    if (!path.starts_with('/') && (add.empty() || add.back() != '/')) out.push_back('/');
    out.append(path);
  }
  out.append(query);
}

const char* invalid_prefix(std::string_view prefix) {
  if (!prefix.starts_with('/')) return "must start with '/'";
  if (prefix.find_first_of("?#") != std::string_view::npos) return "must be a path, without '?' or '#'";
  for (unsigned char c : prefix)
    if (c <= 0x20 || c >= 0x7f) return "must not contain spaces, control or non-ASCII characters";
  if (!is_normal_path(prefix)) return "must be a normalised path (no '//', '.', '..' segments or needless escapes)";
  return nullptr;
}

}  // namespace lb::http
