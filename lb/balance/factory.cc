#include "lb/balance/factory.h"

#include "lb/balance/round_robin.h"

namespace lb::balance {

const char* strategy_name(config::Strategy s) {
  switch (s) {
    case config::Strategy::round_robin: return "round_robin";
    case config::Strategy::weighted_round_robin: return "weighted_round_robin";
    case config::Strategy::least_connections: return "least_connections";
    case config::Strategy::ip_hash: return "ip_hash";
    case config::Strategy::consistent_hash: return "consistent_hash";
    case config::Strategy::p2c_ewma: return "p2c_ewma";
  }
  return "?";
}

bool strategy_implemented(config::Strategy s) {
  return s == config::Strategy::round_robin;
}

std::unique_ptr<Strategy> make_strategy(const config::PoolConfig& pool, const BackendList& backends) {
  switch (pool.strategy) {
    case config::Strategy::round_robin: return std::make_unique<RoundRobin>(backends);
    default: return nullptr;  // refused by the config loader
  }
}

}  // namespace lb::balance
