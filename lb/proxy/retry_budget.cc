#include "lb/proxy/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace lb::proxy {

int64_t RetryBudget::allowed(const config::RetryBudget& budget, int64_t requests) {
  const auto share = int64_t(std::floor(budget.percent * double(std::max<int64_t>(requests, 0)) / 100.0));
  return std::max<int64_t>(share, budget.min_retries);
}

bool RetryBudget::try_start_retry(const config::RetryBudget& budget) {
  const int64_t limit = allowed(budget, requests_in_flight());
  int64_t now = retries_.load(std::memory_order_relaxed);
  do {
    if (now >= limit) return false;
  } while (!retries_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  return true;
}

}  // namespace lb::proxy
