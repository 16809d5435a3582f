#include "lb/http/cookie_header.h"

namespace lb::http {

size_t append_without_cookie(std::string_view header, std::string_view name, std::string& out) {
  size_t removed = 0;
  std::string_view rest = header;
  while (!rest.empty()) removed += cookie_detail::pair_named(cookie_detail::next_pair(rest), name);
  if (removed == 0) {
    out.append(header);
    return 0;
  }
  bool first = true;
  rest = header;
  while (!rest.empty()) {
    const std::string_view pair = cookie_detail::next_pair(rest);
    if (pair.empty() || cookie_detail::pair_named(pair, name)) continue;
    if (!first) out.append("; ");
    out.append(pair);
    first = false;
  }
  return removed;
}

}  // namespace lb::http
