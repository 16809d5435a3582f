#include "lb/proxy/router.h"

#include "lb/http/header_list.h"

namespace lb::proxy {

namespace {

// "Example.com:8080" -> "Example.com"; "[::1]:80" -> "[::1]".
std::string_view strip_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

// The path of an origin-form or absolute-form request target.
std::string_view path_of(std::string_view target) {
  if (!target.empty() && target.front() == '/') return target;
  size_t scheme = target.find("://");
  if (scheme == std::string_view::npos) return target;
  size_t slash = target.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
}

}  // namespace

std::optional<size_t> route_request(const ListenerRuntime& listener, std::string_view host_header,
                                    std::string_view target) {
  const std::string_view host = strip_port(host_header);
  const std::string_view path = path_of(target);
  for (const RouteEntry& r : listener.routes) {
    if (!r.host.empty() && !http::iequals(r.host, host)) continue;
    if (!r.path_prefix.empty() && path.substr(0, r.path_prefix.size()) != r.path_prefix) continue;
    return r.pool;
  }
  return std::nullopt;
}

}  // namespace lb::proxy
