#pragma once
// Run-time state of a pool that every worker shares and that outlives
// snapshots: carried across reloads by pool name, like the pool's counters,
// so a reload neither empties the waiting room's line nor resets the retry
// budget's in-flight counts.
#include <atomic>

#include "lb/proxy/pool_queue.h"
#include "lb/proxy/retry_budget.h"

namespace lb::proxy {

struct PoolShared {
  PoolQueue queue;
  RetryBudget retry_budget;
};

}  // namespace lb::proxy
