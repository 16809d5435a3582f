#include "lb/balance/factory.h"

#include <random>

#include "lb/balance/consistent_hash.h"
#include "lb/balance/ip_hash.h"
#include "lb/balance/least_connections.h"
#include "lb/balance/least_load.h"
#include "lb/balance/load_report.h"
#include "lb/balance/p2c_ewma.h"
#include "lb/balance/round_robin.h"
#include "lb/balance/weighted_round_robin.h"

namespace lb::balance {

namespace {

// Each instance (one per worker) draws its own sequence.
uint64_t fresh_seed() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

}  // namespace

const char* strategy_name(config::Strategy s) {
  switch (s) {
    case config::Strategy::round_robin: return "round_robin";
    case config::Strategy::weighted_round_robin: return "weighted_round_robin";
    case config::Strategy::least_connections: return "least_connections";
    case config::Strategy::ip_hash: return "ip_hash";
    case config::Strategy::consistent_hash: return "consistent_hash";
    case config::Strategy::p2c_ewma: return "p2c_ewma";
    case config::Strategy::least_load: return "least_load";
  }
  return "?";
}

std::unique_ptr<Strategy> make_strategy(const config::PoolConfig& pool, const BackendList& backends) {
  switch (pool.strategy) {
    case config::Strategy::round_robin: return std::make_unique<RoundRobin>(backends);
    case config::Strategy::weighted_round_robin: return std::make_unique<WeightedRoundRobin>(backends);
    case config::Strategy::least_connections: return std::make_unique<LeastConnections>(backends);
    case config::Strategy::ip_hash: return std::make_unique<IpHash>(backends);
    case config::Strategy::consistent_hash:
      return std::make_unique<ConsistentHash>(backends, pool.bounded_load);
    case config::Strategy::p2c_ewma: return std::make_unique<P2cEwma>(backends, fresh_seed());
    case config::Strategy::least_load:
      return std::make_unique<LeastLoad>(backends, kLoadReportStaleAfter * pool.load_report.interval, fresh_seed());
  }
  return nullptr;
}

}  // namespace lb::balance
