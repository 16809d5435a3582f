#pragma once
// Envoy's retry budget, per pool and shared by every worker: retries in
// flight may be at most `percent` of the pool's requests in flight, and at
// least `min_retries` are always allowed. A fixed "retries: 2" triples the
// load on a pool whose backends all fail or time out at once — the retry
// storm that turns a slow pool into a dead one; the budget caps the extra
// load at a share of the real traffic, while an isolated failure (one sick
// backend among healthy ones) still gets its retry. Which retries ask the
// budget at all is retry_policy.h's to say (not those after a failed
// connect, nor those away from a backend already taken out).
//
// A request counts in flight from its start to its answer; it counts as a
// retry in flight from its first retry to its answer (one request is at
// most one retry in flight, as its attempts are sequential). Two counters
// in atomics, no lock; the check and the increment are one compare-and-swap,
// so concurrent workers cannot both take the last retry. Failure mode: a
// refused retry answers the error of the attempt that failed, counted in
// lbd_retry_budget_exhausted_total.
#include <atomic>
#include <cstdint>

#include "lb/config/config.h"

namespace lb::proxy {

class RetryBudget {
 public:
  void request_started() { requests_.fetch_add(1, std::memory_order_relaxed); }
  void request_ended() { requests_.fetch_sub(1, std::memory_order_relaxed); }

  // Takes a retry from the budget if it allows one more now; pair a true
  // answer with retry_ended().
  bool try_start_retry(const config::RetryBudget& budget);
  void retry_ended() { retries_.fetch_sub(1, std::memory_order_relaxed); }

  // How many retries may be in flight with `requests` requests in flight.
  static int64_t allowed(const config::RetryBudget& budget, int64_t requests);

  int64_t requests_in_flight() const { return requests_.load(std::memory_order_relaxed); }
  int64_t retries_in_flight() const { return retries_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> retries_{0};
};

}  // namespace lb::proxy
