#pragma once
// An immutable, reference-counted view of the configuration as the request
// path uses it (DESIGN.md §2): pools with their shared Backend objects,
// listeners with their routes resolved to pool indexes. Built on the
// control thread (control/snapshot_builder.h); a worker swaps to a new one
// on reload, and every request keeps the snapshot it started with.
#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "lb/balance/hash_key.h"
#include "lb/balance/strategy.h"
#include "lb/config/config.h"
#include "lb/http2/session.h"
#include "lb/session/sticky_affinity.h"
#include "lb/metrics/listener_stats.h"
#include "lb/metrics/pool_stats.h"
#include "lb/proxy/pool_shared.h"
#include "lb/proxy/rate_limiter.h"
#include "lb/proxy/route_table.h"
#include "lb/tls/tls_context.h"
#include "lb/tls/upstream_tls_context.h"

namespace lb::proxy {

struct PoolRuntime {
  const config::PoolConfig* config = nullptr;  // points into Snapshot::config
  balance::BackendList backends;
  balance::HashKey hash_key;  // consistent_hash: what a request is hashed by
  std::shared_ptr<const session::StickyAffinity> sticky;  // session.mode sticky, else null
  std::shared_ptr<metrics::PoolStats> stats;  // carried across reloads by pool name
  std::shared_ptr<PoolShared> shared;         // waiting room, retry budget; carried by pool name
  std::shared_ptr<const tls::UpstreamTlsContext> tls;  // pool `tls`: TLS to the backends, else null
};

// Run-time state of a listener that outlives snapshots (connection count).
struct ListenerState {
  std::atomic<uint64_t> connections{0};
  metrics::ListenerStats stats;  // requests, durations, connections opened
  // WebSocket tunnels (lb/proxy/tunnel.h): open now / opened since start.
  std::atomic<uint64_t> tunnels_active{0};
  std::atomic<uint64_t> tunnels_total{0};
  // Requests answered 429 by the listener's rate_limit.
  std::atomic<uint64_t> rate_limited{0};
  // HTTP/2 connections: streams open now, and connections ended by GOAWAY
  // per http2::GoawayReason (lbd_http2_streams_active, lbd_http2_goaway_total).
  std::atomic<int64_t> h2_streams_active{0};
  std::array<std::atomic<uint64_t>, http2::kGoawayReasons> h2_goaway{};
};

struct ListenerRuntime {
  const config::ListenerConfig* config = nullptr;
  std::shared_ptr<ListenerState> state;
  RouteTable routes;
  std::shared_ptr<const tls::TlsContext> tls;  // null: plain HTTP
  // Shared by every worker; carried over a reload that keeps rps and burst,
  // so clients keep their place. Null: rate_limit off.
  std::shared_ptr<RateLimiter> rate_limiter;
};

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::vector<PoolRuntime> pools;
  std::vector<ListenerRuntime> listeners;
  uint64_t generation = 0;

  const ListenerRuntime* find_listener(std::string_view name) const;
};

}  // namespace lb::proxy
