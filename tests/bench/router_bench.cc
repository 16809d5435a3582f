// Routing cost at 10, 100 and 1,000 routes (issue 18). Routes are loaded
// from YAML by the real loader and compiled as a reload compiles them;
// each iteration routes one request the way ClientConnection does.
//
//   build/default/tests/lbd_router_bench
//
// Cases:
//   ExactHosts     one route per host (path_prefix too), request for the
//                  last host: the exact-host map makes it O(1) in routes.
//   WildcardHosts  one "*.dN.example.com" per route, request under the
//                  last: a map lookup per label of the request's host.
//   CatchAllLast   N exact-host routes then a host-less catch-all, request
//                  for an unknown host: the any-host list is walked alone.
//   PrefixesOneHost N host-less path_prefix routes, request for the last:
//                  first-match order forces a walk of every candidate, the
//                  case where the table cannot help (linear in routes).
//   HeaderRegex    N routes on X-Model "~^model-N$", request for the last.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "lb/config/loader.h"
#include "lb/control/snapshot_builder.h"
#include "lb/http/header_list.h"
#include "lb/proxy/router.h"
#include "lb/proxy/snapshot.h"

namespace {

using lb::proxy::RouteRequest;
using lb::proxy::Snapshot;

std::shared_ptr<const Snapshot> snapshot(const std::string& routes) {
  const std::string yaml = "listeners:\n  - name: web\n    listen: 127.0.0.1:18080\n    routes:\n" + routes +
                           "pools:\n  - {name: app, backends: [{name: a, address: 127.0.0.1:9001}]}\n";
  auto loaded = lb::config::load_string(yaml, "bench.yaml");
  if (!loaded.ok()) throw std::runtime_error(loaded.errors.front().to_string());
  return lb::control::build_snapshot(std::make_shared<const lb::config::Config>(std::move(*loaded.config)), nullptr);
}

void run(benchmark::State& state, const Snapshot& snap, const RouteRequest& rq, bool expect_match) {
  const auto& listener = snap.listeners.at(0);
  for (auto _ : state) {
    const auto* route = lb::proxy::route_request(listener, rq);
    benchmark::DoNotOptimize(route);
    if ((route != nullptr) != expect_match) state.SkipWithError("routed wrongly");
  }
  state.counters["routes"] = double(listener.routes.routes().size());
}

RouteRequest request(std::string_view host, std::string_view target, const lb::http::HeaderList* headers = nullptr) {
  RouteRequest rq;
  rq.host_header = host;
  rq.target = target;
  rq.method = "GET";
  rq.headers = headers;
  rq.client_address = "\x0a\x00\x00\x01";
  return rq;
}

void ExactHosts(benchmark::State& state) {
  const int n = int(state.range(0));
  std::string routes;
  for (int i = 0; i < n; ++i)
    routes += "      - {host: h" + std::to_string(i) + ".example.com, path_prefix: /api/, pool: app}\n";
  const auto snap = snapshot(routes);
  const std::string host = "H" + std::to_string(n - 1) + ".example.com:8443";
  run(state, *snap, request(host, "/api/v1/chat?stream=1"), true);
}

void WildcardHosts(benchmark::State& state) {
  const int n = int(state.range(0));
  std::string routes;
  for (int i = 0; i < n; ++i) routes += "      - {host: \"*.d" + std::to_string(i) + ".example.com\", pool: app}\n";
  const auto snap = snapshot(routes);
  const std::string host = "www.d" + std::to_string(n - 1) + ".example.com";
  run(state, *snap, request(host, "/"), true);
}

void CatchAllLast(benchmark::State& state) {
  const int n = int(state.range(0));
  std::string routes;
  for (int i = 0; i < n - 1; ++i) routes += "      - {host: h" + std::to_string(i) + ".example.com, pool: app}\n";
  routes += "      - {pool: app}\n";
  const auto snap = snapshot(routes);
  run(state, *snap, request("unknown.example.org", "/x"), true);
}

void PrefixesOneHost(benchmark::State& state) {
  const int n = int(state.range(0));
  std::string routes;
  for (int i = 0; i < n; ++i) routes += "      - {path_prefix: /svc" + std::to_string(i) + "/, pool: app}\n";
  const auto snap = snapshot(routes);
  const std::string target = "/svc" + std::to_string(n - 1) + "/items?id=3";
  run(state, *snap, request("example.com", target), true);
}

void HeaderRegex(benchmark::State& state) {
  const int n = int(state.range(0));
  std::string routes;
  for (int i = 0; i < n; ++i)
    routes += "      - {headers: {X-Model: \"~^model-" + std::to_string(i) + "$\"}, pool: app}\n";
  const auto snap = snapshot(routes);
  lb::http::HeaderList headers;
  headers.add("Host", "example.com");
  headers.add("User-Agent", "bench");
  headers.add("X-Model", "model-" + std::to_string(n - 1));
  run(state, *snap, request("example.com", "/v1/chat", &headers), true);
}

BENCHMARK(ExactHosts)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(WildcardHosts)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(CatchAllLast)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(PrefixesOneHost)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(HeaderRegex)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
