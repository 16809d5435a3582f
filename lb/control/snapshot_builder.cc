#include "lb/control/snapshot_builder.h"

#include <algorithm>

namespace lb::control {

using proxy::CompiledRoute;
using proxy::ListenerRuntime;
using proxy::ListenerState;
using proxy::PoolRuntime;
using proxy::PoolShared;
using proxy::RateLimiter;
using proxy::RouteTable;
using proxy::Snapshot;

namespace {

std::shared_ptr<balance::Backend> carried_backend(const Snapshot* previous, const std::string& pool,
                                                  const config::BackendConfig& bc) {
  if (!previous) return nullptr;
  for (const PoolRuntime& p : previous->pools) {
    if (p.config->name != pool) continue;
    for (const auto& b : p.backends)
      if (b->name() == bc.name && b->address().text == bc.address.text) return b;
  }
  return nullptr;
}

balance::BackendList discovered_members(const Snapshot* previous, const std::string& pool) {
  if (previous)
    for (const PoolRuntime& p : previous->pools)
      if (p.config->name == pool && p.config->discovery) return p.backends;
  return {};
}

std::shared_ptr<metrics::PoolStats> carried_pool_stats(const Snapshot* previous, const std::string& pool) {
  if (previous)
    for (const PoolRuntime& p : previous->pools)
      if (p.config->name == pool) return p.stats;
  return std::make_shared<metrics::PoolStats>();
}

std::shared_ptr<PoolShared> carried_pool_shared(const Snapshot* previous, const std::string& pool) {
  if (previous)
    for (const PoolRuntime& p : previous->pools)
      if (p.config->name == pool) return p.shared;
  return std::make_shared<PoolShared>();
}

}  // namespace

PreparedSnapshot prepare_snapshot(std::shared_ptr<const config::Config> config, const Snapshot* previous) {
  PreparedSnapshot prepared;
  auto& snap = prepared.snapshot_;
  snap = std::make_shared<Snapshot>();
  snap->config = config;
  snap->generation = previous ? previous->generation + 1 : 1;

  for (const config::PoolConfig& pc : config->pools) {
    PoolRuntime pr;
    pr.config = &pc;
    // The loader has validated the spec; the default stands for safety only.
    pr.hash_key = balance::parse_hash_key(pc.hash_key).value_or(balance::HashKey{});
    pr.stats = carried_pool_stats(previous, pc.name);
    pr.shared = carried_pool_shared(previous, pc.name);
    // A discovery pool's members come from DNS (lb/discovery), not the
    // file: a reload keeps the ones found so far until the next answer.
    if (pc.discovery)
      for (const auto& b : discovered_members(previous, pc.name)) {
        prepared.carried_.push_back({b, b->weight(), b->max_requests(), pc.slow_start});
        pr.backends.push_back(b);
      }
    for (const config::BackendConfig& bc : pc.backends) {
      auto b = carried_backend(previous, pc.name, bc);
      if (b) {  // live: set at commit
        prepared.carried_.push_back({b, bc.weight, bc.max_requests, pc.slow_start});
      } else {  // nobody else sees it yet
        b = std::make_shared<balance::Backend>(bc.name, bc.address, bc.weight);
        b->set_slow_start(pc.slow_start);
        b->set_max_requests(bc.max_requests);
      }
      pr.backends.push_back(std::move(b));
    }
    // A new context each time: a reload re-reads ca_file, cert and key.
    if (pc.tls) pr.tls = tls::UpstreamTlsContext::create(*pc.tls);
    if (pc.session.mode == config::SessionMode::sticky)
      pr.sticky = std::make_shared<session::StickyAffinity>(pc.session.cookie, pc.name, pr.backends);
    snap->pools.push_back(std::move(pr));
  }

  for (const config::ListenerConfig& lc : config->listeners) {
    ListenerRuntime lr;
    lr.config = &lc;
    const ListenerRuntime* old = previous ? previous->find_listener(lc.name) : nullptr;
    lr.state = old ? old->state : std::make_shared<ListenerState>();
    // Ticket keys carry over so clients still resume after a reload.
    if (lc.rate_limit.rps > 0) {
      const auto& kept = old ? old->rate_limiter : nullptr;
      lr.rate_limiter = kept && kept->rps() == lc.rate_limit.rps && kept->burst() == lc.rate_limit.burst
                            ? kept
                            : std::make_shared<RateLimiter>(lc.rate_limit.rps, lc.rate_limit.burst);
    }
    if (lc.tls)
      lr.tls = tls::TlsContext::create(*lc.tls, old && old->tls ? old->tls->ticket_keys() : nullptr, lc.http2.enabled);
    lr.routes = RouteTable(
        lc.routes,
        [&](std::string_view pool) -> std::optional<size_t> {
          for (size_t i = 0; i < config->pools.size(); ++i)
            if (config->pools[i].name == pool) return i;
          return std::nullopt;
        },
        [&](const std::string& label) -> std::shared_ptr<metrics::RouteStats> {
          const CompiledRoute* r = old ? old->routes.find_label(label) : nullptr;
          return r ? r->stats : nullptr;
        });
    snap->listeners.push_back(std::move(lr));
  }
  return prepared;
}

std::shared_ptr<const Snapshot> PreparedSnapshot::commit() && {
  for (const CarriedBackend& c : carried_) {
    c.backend->set_weight(c.weight);
    c.backend->set_max_requests(c.max_requests);  // an admin API override lasts until here
    c.backend->set_slow_start(c.slow_start);
  }
  carried_.clear();
  return std::move(snapshot_);
}

std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config,
                                               const Snapshot* previous) {
  return prepare_snapshot(std::move(config), previous).commit();
}

}  // namespace lb::control
