#include "lb/proxy/router.h"

#include "lb/config/cidr.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstring>

#include "lb/http/request_target.h"
#include "lb/proxy/snapshot.h"

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

struct PathView {
  std::string_view path;  // without the query
  bool normal = false;
};

PathView path_of(std::string_view target) {
  const auto absolute = http::split_absolute_form(target);
  std::string_view origin = absolute ? absolute->origin : target;
  // The parser normalised the target (http::normalise_target) and the
  // backend gets it so. A path in any other form would be read differently
  // by the backend than matched here: it matches no path condition.
  return {origin.substr(0, origin.find('?')), http::is_normal_path(target)};
}

bool path_matches(const config::Route& r, const PathView& p) {
  if (!r.path_prefix.empty()) return p.normal && p.path.starts_with(r.path_prefix);
  if (!r.path_exact.empty()) return p.normal && p.path == r.path_exact;
  if (r.path_re) return p.normal && re2::RE2::PartialMatch(re2::StringPiece(p.path.data(), p.path.size()), *r.path_re);
  return true;
}

bool header_matches(const config::HeaderMatch& m, const http::HeaderList* headers) {
  if (!headers) return false;
  // Any field of that name may satisfy it (a repeated field is several values).
  for (size_t i = 0; i < headers->size(); ++i) {
    if (!http::iequals(headers->name(i), m.name)) continue;
    const std::string_view v = headers->value(i);
    switch (m.kind) {
      case config::HeaderMatch::Kind::present: return true;
      case config::HeaderMatch::Kind::exact:
        if (v == m.value) return true;
        break;
      case config::HeaderMatch::Kind::regex:
        if (re2::RE2::PartialMatch(re2::StringPiece(v.data(), v.size()), *m.regex)) return true;
        break;
    }
  }
  return false;
}

bool in_network(const config::Cidr& net, std::string_view addr) { return config::cidr_contains(net, addr); }

bool route_matches(const config::Route& r, const RouteRequest& req, const PathView& path) {
  if (!path_matches(r, path)) return false;
  if (!r.methods.empty() && std::find(r.methods.begin(), r.methods.end(), req.method) == r.methods.end()) return false;
  for (const config::HeaderMatch& h : r.headers)
    if (!header_matches(h, req.headers)) return false;
  if (!r.client_cidr.empty() &&
      std::none_of(r.client_cidr.begin(), r.client_cidr.end(),
                   [&](const config::Cidr& n) { return in_network(n, req.client_address); }))
    return false;
  return true;
}

// Lends the request's headers to balance::hash_request.
class Headers final : public balance::HeaderLookup {
 public:
  explicit Headers(const http::HeaderList* h) : h_(h) {}
  std::optional<std::string_view> find(std::string_view name) const override {
    return h_ ? h_->find(name) : std::nullopt;
  }

 private:
  const http::HeaderList* h_;
};

}  // namespace

std::string_view routing_host(const RouteRequest& request, char (&buf)[256]) {
  // An absolute-form target names the host itself (RFC 9112 §3.2.2).
  const auto absolute = http::split_absolute_form(request.target);
  std::string_view host = strip_port(absolute ? absolute->authority : request.host_header);
  if (host.ends_with('.')) host.remove_suffix(1);  // "example.com." is example.com
  if (host.size() > sizeof buf) return {};
  for (size_t i = 0; i < host.size(); ++i) buf[i] = char(std::tolower(static_cast<unsigned char>(host[i])));
  return {buf, host.size()};
}

const CompiledRoute* match_route(const RouteTable& table, const RouteRequest& request) {
  char buf[256];
  const std::string_view host = routing_host(request, buf);
  const RouteTable::Candidates c = table.candidates(host);
  const PathView path = path_of(request.target);
  // Walk the three ascending lists in route order: the first candidate
  // that matches is the first route that matches.
  size_t at[3] = {0, 0, 0};
  for (;;) {
    int best = -1;
    for (int i = 0; i < 3; ++i)
      if (at[i] < c.lists[i].size() && (best < 0 || c.lists[i][at[i]] < c.lists[best][at[best]])) best = i;
    if (best < 0) return nullptr;
    const CompiledRoute& r = table.routes()[c.lists[best][at[best]++]];
    if (route_matches(*r.config, request, path)) return &r;
  }
}

const CompiledRoute* route_request(const ListenerRuntime& listener, const RouteRequest& request) {
  return match_route(listener.routes, request);
}

size_t choose_pool(const CompiledRoute& route, const RouteRequest& request, uint64_t random_hash) {
  if (route.config->action != config::RouteAction::split) return route.pool;
  const auto& key = route.split.key();
  if (!key) return route.split.pick(random_hash);
  const Headers headers(request.headers);
  balance::RequestView view;
  view.client_address = request.client_address;
  view.uri = request.target;
  view.headers = &headers;
  return route.split.pick(balance::hash_request(*key, view).value_or(random_hash));
}

}  // namespace lb::proxy
