#pragma once
// An immutable, reference-counted view of the configuration as the request
// path uses it (DESIGN.md §2): pools with their shared Backend objects,
// listeners with their routes resolved to pool indexes. Built on the
// control thread; a worker swaps to a new one on reload, and every request
// keeps the snapshot it started with.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "lb/balance/hash_key.h"
#include "lb/balance/strategy.h"
#include "lb/config/config.h"
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

// A snapshot built but not yet in force. Backends carried over from the
// previous snapshot are live (workers read them), so their new weight and
// slow start wait here until commit(): a reload refused after preparing
// leaves them as they were.
class PreparedSnapshot {
 public:
  // Applies the carried backends' new settings and hands the snapshot
  // over. Cannot fail; call once, after every other fallible reload step.
  std::shared_ptr<const Snapshot> commit() &&;

 private:
  friend PreparedSnapshot prepare_snapshot(std::shared_ptr<const config::Config>, const Snapshot*);
  struct CarriedBackend {
    std::shared_ptr<balance::Backend> backend;
    uint32_t weight;
    uint32_t max_requests;
    Duration slow_start;
  };
  std::shared_ptr<Snapshot> snapshot_;
  std::vector<CarriedBackend> carried_;
};

// Builds a snapshot; Backend objects and listener states of `previous` are
// carried over where a pool keeps a backend of the same name and address
// (so health, counters and connection pools survive a reload). TLS
// listeners get a new context, re-reading their certificate files; throws
// tls::TlsError when one cannot be used. Changes nothing shared.
PreparedSnapshot prepare_snapshot(std::shared_ptr<const config::Config> config, const Snapshot* previous);

// prepare_snapshot(...).commit(), for callers with nothing else to check.
std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config,
                                               const Snapshot* previous);

}  // namespace lb::proxy
