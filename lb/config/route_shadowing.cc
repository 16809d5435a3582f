#include "lb/config/route_shadowing.h"

#include <algorithm>

#include "lb/http/header_list.h"

namespace lb::config {
namespace {

bool host_covers(std::string_view earlier, std::string_view later) {
  if (earlier.empty()) return true;
  if (later.empty()) return false;
  if (http::iequals(earlier, later)) return true;
  if (!earlier.starts_with("*.")) return false;
  // "*.example.com" covers "a.example.com", "*.a.example.com", "x.y.example.com".
  const std::string_view suffix = earlier.substr(1);  // ".example.com"
  if (later.starts_with("*.")) later.remove_prefix(1);
  return later.size() > suffix.size() && http::iequals(later.substr(later.size() - suffix.size()), suffix);
}

bool path_covers(const Route& e, const Route& l) {
  if (e.path_prefix.empty() && e.path_exact.empty() && e.path_regex.empty()) return true;
  if (!e.path_prefix.empty()) {
    if (!l.path_prefix.empty()) return l.path_prefix.starts_with(e.path_prefix);
    if (!l.path_exact.empty()) return l.path_exact.starts_with(e.path_prefix);
    return false;
  }
  if (!e.path_exact.empty()) return e.path_exact == l.path_exact;
  return e.path_regex == l.path_regex;
}

bool methods_cover(const Route& e, const Route& l) {
  if (e.methods.empty()) return true;
  if (l.methods.empty()) return false;
  return std::all_of(l.methods.begin(), l.methods.end(), [&](const std::string& m) {
    return std::find(e.methods.begin(), e.methods.end(), m) != e.methods.end();
  });
}

bool headers_cover(const Route& e, const Route& l) {
  return std::all_of(e.headers.begin(), e.headers.end(), [&](const HeaderMatch& eh) {
    return std::any_of(l.headers.begin(), l.headers.end(), [&](const HeaderMatch& lh) {
      if (!http::iequals(eh.name, lh.name)) return false;
      // "present" is implied by any condition on the same header.
      return eh.kind == HeaderMatch::Kind::present || (eh.kind == lh.kind && eh.value == lh.value);
    });
  });
}

// Does range `net` hold every address of range `inner`?
bool range_covers(const Cidr& net, const Cidr& inner) {
  if (net.length != inner.length || net.prefix > inner.prefix) return false;
  for (int i = 0; i < net.length; ++i) {
    const int keep = std::clamp(int(net.prefix) - i * 8, 0, 8);
    const uint8_t mask = uint8_t(0xff00 >> keep);
    if ((inner.bytes[i] & mask) != net.bytes[i]) return false;
  }
  return true;
}

bool cidrs_cover(const Route& e, const Route& l) {
  if (e.client_cidr.empty()) return true;
  if (l.client_cidr.empty()) return false;
  return std::all_of(l.client_cidr.begin(), l.client_cidr.end(), [&](const Cidr& inner) {
    return std::any_of(e.client_cidr.begin(), e.client_cidr.end(), [&](const Cidr& n) { return range_covers(n, inner); });
  });
}

}  // namespace

bool covers(const Route& e, const Route& l) {
  return host_covers(e.host, l.host) && path_covers(e, l) && methods_cover(e, l) && headers_cover(e, l) &&
         cidrs_cover(e, l);
}

std::vector<RouteShadowing> find_shadowed_routes(const std::vector<Route>& routes) {
  std::vector<RouteShadowing> out;
  for (size_t later = 1; later < routes.size(); ++later) {
    for (size_t earlier = 0; earlier < later; ++earlier) {
      if (!covers(routes[earlier], routes[later])) continue;
      const Route& e = routes[earlier];
      std::string what = e.matches_everything() ? "matches every request" : "matches every request this one would";
      out.push_back({later, earlier,
                     "never matches: routes[" + std::to_string(earlier) + "]" +
                         (e.name.empty() ? "" : " (" + e.name + ")") + " at line " + std::to_string(e.line) +
                         " comes first and " + what});
      break;
    }
  }
  return out;
}

}  // namespace lb::config
