#pragma once
// Requests that matched one route (lbd_route_requests_total{listener,
// route}), per worker. Carried across reloads by listener and route label
// (the route's name, or its index), so a reload does not reset the counter.
#include <cstdint>

#include "lb/metrics/local_counter.h"
#include "lb/metrics/per_worker.h"

namespace lb::metrics {

class RouteStats {
 public:
  void count_request(unsigned worker) { slots_.local(worker).requests.add(); }
  uint64_t requests() const {
    uint64_t n = 0;
    slots_.for_each([&](const Slot& s) { n += s.requests.value(); });
    return n;
  }

 private:
  struct alignas(64) Slot {
    LocalCounter requests;
  };
  PerWorker<Slot> slots_;
};

}  // namespace lb::metrics
