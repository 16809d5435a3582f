#pragma once
// Picks the route for a request: the first of the listener's routes whose
// every condition holds (host, path, methods, headers, client network;
// DESIGN.md "Routes, second round"). The target must be normalised
// (http::normalise_target, which the request parser applies): one that is
// not matches no path condition. Then, for a route that forwards, which
// pool: its own, or its split's side for the request's key.
#include <cstdint>
#include <optional>
#include <string_view>

#include "lb/http/header_list.h"
#include "lb/proxy/route_table.h"

namespace lb::proxy {

struct ListenerRuntime;

// What routing looks at, lent by the connection.
struct RouteRequest {
  std::string_view host_header;  // the Host field ("" if none); an absolute-form target overrides it
  std::string_view target;       // as parsed and normalised
  std::string_view method;       // "GET"
  const http::HeaderList* headers = nullptr;
  // The client's 4 or 16 address bytes: the address X-Real-IP names.
  std::string_view client_address;
};

// The host routing uses: the absolute-form authority or the Host field,
// without the port, lower-cased and without a trailing dot, into `buf`.
// Empty when it does not fit (no route's host is that long).
std::string_view routing_host(const RouteRequest& request, char (&buf)[256]);

const CompiledRoute* match_route(const RouteTable& table, const RouteRequest& request);
const CompiledRoute* route_request(const ListenerRuntime& listener, const RouteRequest& request);

// The pool a forwarding route sends this request to. `random_hash` is a
// well-mixed per-request value, used by `split_by: random` and when the
// request lacks the split key.
size_t choose_pool(const CompiledRoute& route, const RouteRequest& request, uint64_t random_hash);

}  // namespace lb::proxy
