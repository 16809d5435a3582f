#pragma once
// Requests and connections of one listener, per worker. Held by the
// listener's ListenerState, which outlives config snapshots.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "lb/metrics/latency_histogram.h"
#include "lb/metrics/per_worker.h"
#include "lb/metrics/status_class.h"

namespace lb::metrics {

struct ListenerTotals {
  std::array<uint64_t, kStatusClasses> requests{};  // lbd_requests_total by code class
  HistogramTotals duration;                         // lbd_request_duration_seconds
  uint64_t connections = 0;                         // lbd_connections_total
  uint64_t h2_streams = 0;                          // lbd_http2_streams_total

  uint64_t request_count() const;
};

class ListenerStats {
 public:
  // One answered request; `duration` from reading its head to the end of
  // the answer, absent when lbd answered before a request head arrived (a
  // malformed head, the header timeout): those are counted, not timed.
  void count_request(unsigned worker, int status, std::optional<std::chrono::microseconds> duration) {
    Slot& s = slots_.local(worker);
    s.requests[status_class(status)].add();
    if (duration) s.duration.observe(*duration);
  }
  void count_connection(unsigned worker) { slots_.local(worker).connections.add(); }
  void count_h2_stream(unsigned worker) { slots_.local(worker).h2_streams.add(); }

  ListenerTotals totals() const;

 private:
  struct alignas(64) Slot {
    std::array<LocalCounter, kStatusClasses> requests;
    HistogramCells duration;
    LocalCounter connections;
    LocalCounter h2_streams;
  };
  PerWorker<Slot> slots_;
};

}  // namespace lb::metrics
