#include "lb/http/request_target.h"

#include "lb/http/header_list.h"

namespace lb::http {

std::optional<AbsoluteTarget> split_absolute_form(std::string_view target) {
  if (target.empty() || target.front() == '/') return std::nullopt;
  size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string_view scheme = target.substr(0, scheme_end);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return std::nullopt;
  std::string_view rest = target.substr(scheme_end + 3);
  size_t path_start = rest.find_first_of("/?");
  AbsoluteTarget t;
  t.authority = rest.substr(0, path_start);
  if (path_start == std::string_view::npos) {
    t.origin = "/";
  } else if (rest[path_start] == '?') {
    t.origin = rest.substr(path_start);  // caller prefixes "/"
  } else {
    t.origin = rest.substr(path_start);
  }
  if (t.authority.empty()) return std::nullopt;
  return t;
}

}  // namespace lb::http
