#include "lb/proxy/router.h"

#include "lb/http/header_list.h"
#include "lb/http/request_target.h"

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

}  // namespace

std::optional<size_t> route_request(const ListenerRuntime& listener, std::string_view host_header,
                                    std::string_view target) {
  // An absolute-form target names the host itself (RFC 9112 §3.2.2).
  const auto absolute = http::split_absolute_form(target);
  const std::string_view host = strip_port(absolute ? absolute->authority : host_header);
  const std::string_view path = absolute ? absolute->origin : target;
  // The parser normalised the target (http::normalise_target) and the
  // backend gets it so. A path in any other form would be read differently
  // by the backend than matched here: it matches no path_prefix.
  const bool normal = http::is_normal_path(target);
  for (const RouteEntry& r : listener.routes) {
    if (!r.host.empty() && !http::iequals(r.host, host)) continue;
    if (!r.path_prefix.empty() && (!normal || path.substr(0, r.path_prefix.size()) != r.path_prefix)) continue;
    return r.pool;
  }
  return std::nullopt;
}

}  // namespace lb::proxy
