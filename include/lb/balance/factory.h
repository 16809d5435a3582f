#pragma once
// Builds the strategy a pool's config names. Called once per worker per
// pool per config snapshot, never per request.
#include <memory>
#include <string>

#include "lb/balance/strategy.h"
#include "lb/config/config.h"

namespace lb::balance {

const char* strategy_name(config::Strategy s);

std::unique_ptr<Strategy> make_strategy(const config::PoolConfig& pool, const BackendList& backends);

}  // namespace lb::balance
