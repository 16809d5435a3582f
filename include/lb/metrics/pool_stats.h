#pragma once
// Per-pool counters, per worker: retries on another backend and requests
// answered 503 because no backend was usable. Carried across reloads by
// pool name (proxy::build_snapshot).
#include <cstdint>

#include "lb/metrics/local_counter.h"
#include "lb/metrics/per_worker.h"

namespace lb::metrics {

struct PoolTotals {
  uint64_t retries = 0;     // lbd_retries_total
  uint64_t no_backend = 0;  // lbd_no_backend_total
};

class PoolStats {
 public:
  void count_retry(unsigned worker) { slots_.local(worker).retries.add(); }
  void count_no_backend(unsigned worker) { slots_.local(worker).no_backend.add(); }

  PoolTotals totals() const {
    PoolTotals t;
    slots_.for_each([&](const Slot& s) {
      t.retries += s.retries.value();
      t.no_backend += s.no_backend.value();
    });
    return t;
  }

 private:
  struct alignas(64) Slot {
    LocalCounter retries;
    LocalCounter no_backend;
  };
  PerWorker<Slot> slots_;
};

}  // namespace lb::metrics
