#pragma once
// Routes written as the operator writes them (YAML), loaded by the real
// loader and compiled into the listener's RouteTable, with a request
// builder: routing tests need no sockets.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lb/config/loader.h"
#include "lb/control/snapshot_builder.h"
#include "lb/http/header_list.h"
#include "lb/proxy/router.h"
#include "lb/proxy/snapshot.h"

namespace lb::proxy::testing {

// Pools a, b, c, v1, v2 exist; `routes_yaml` is the body of `routes:`
// (entries starting "      - ").
inline std::shared_ptr<const Snapshot> snapshot_with_routes(const std::string& routes_yaml,
                                                           const Snapshot* previous = nullptr) {
  std::string yaml = "listeners:\n  - name: web\n    listen: 127.0.0.1:18080\n    routes:\n" + routes_yaml + "pools:\n";
  for (const char* p : {"a", "b", "c", "v1", "v2"})
    yaml += std::string("  - name: ") + p + "\n    backends: [{name: x, address: 127.0.0.1:9001}]\n";
  auto loaded = config::load_string(yaml, "test.yaml");
  if (!loaded.ok()) {
    std::string all;
    for (const auto& e : loaded.errors) all += e.to_string() + "\n";
    ADD_FAILURE() << all;
    return nullptr;
  }
  return control::build_snapshot(std::make_shared<const config::Config>(std::move(*loaded.config)), previous);
}

struct Req {
  std::string host = "example.com";
  std::string target = "/";
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string client = "\x0a\x01\x02\x03";  // 10.1.2.3

  http::HeaderList list() const {
    http::HeaderList h;
    for (const auto& [n, v] : headers) h.add(n, v);
    return h;
  }
};

// The matched route's label ("-" when none), for readable expectations.
inline std::string route_of(const Snapshot& s, const Req& r) {
  const http::HeaderList h = r.list();
  RouteRequest rq;
  rq.host_header = r.host;
  rq.target = r.target;
  rq.method = r.method;
  rq.headers = &h;
  rq.client_address = r.client;
  const CompiledRoute* route = route_request(s.listeners.at(0), rq);
  return route ? route->label : "-";
}

}  // namespace lb::proxy::testing
