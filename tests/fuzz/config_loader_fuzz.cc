// The config loader on any text: it must never crash or throw, must say
// where each problem is, and what it accepts must be a config the rest of
// lbd can use: the pools its routes forward to exist, and a snapshot builds
// from it (a TlsError for unusable certificate files is the one refusal
// build_snapshot may throw; the reload path reports it).
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "lb/config/loader.h"
#include "lb/control/snapshot_builder.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/worker_snapshot.h"
#include "lb/tls/tls_context.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lb;
  const std::string text(reinterpret_cast<const char*>(data), size);
  config::LoadResult r = config::load_string(text, "fuzz.yaml");
  FUZZ_CHECK(r.ok() == r.config.has_value());

  int lines = 1;
  for (char c : text) lines += c == '\n';
  for (const config::ConfigError& e : r.errors) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.line >= 0 && e.line <= lines + 1);
    FUZZ_CHECK(e.column >= 0);
    FUZZ_CHECK(!e.to_string().empty());
  }
  if (!r.config) return 0;

  const config::Config& c = *r.config;
  FUZZ_CHECK(!c.pools.empty() && !c.listeners.empty());
  const auto pool_exists = [&](const std::string& name) {
    for (const config::PoolConfig& p : c.pools)
      if (p.name == name) return true;
    return false;
  };
  for (const config::ListenerConfig& l : c.listeners) {
    for (const config::Route& route : l.routes) {
      // A route forwards to one pool or splits over several; a redirect or
      // a fixed answer names none.
      if (route.action == config::RouteAction::pool) FUZZ_CHECK(pool_exists(route.pool));
      if (route.action == config::RouteAction::split) {
        FUZZ_CHECK(!route.pools.empty());
        for (const config::WeightedPool& wp : route.pools) FUZZ_CHECK(pool_exists(wp.pool));
      }
    }
  }
  const size_t pools = c.pools.size();
  try {
    auto snapshot = control::build_snapshot(std::make_shared<const config::Config>(std::move(*r.config)), nullptr);
    FUZZ_CHECK(snapshot->pools.size() == pools);
    auto ws = proxy::WorkerSnapshot::build(snapshot);
    FUZZ_CHECK(ws->strategies.size() == snapshot->pools.size());
    for (const proxy::ListenerRuntime& l : snapshot->listeners)
      for (const proxy::CompiledRoute& route : l.routes.routes())
        FUZZ_CHECK(!route.forwards() || route.pool < snapshot->pools.size());
  } catch (const tls::TlsError&) {
  }
  return 0;
}
