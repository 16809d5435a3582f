#pragma once
// Request counters and response times of one backend, per worker (DESIGN.md
// §2: single-writer, summed at scrape). Held by the Backend, so they survive
// a reload that keeps the backend and go away with it.
#include <array>
#include <chrono>
#include <cstdint>

#include "lb/metrics/latency_histogram.h"
#include "lb/metrics/per_worker.h"
#include "lb/metrics/status_class.h"

namespace lb::metrics {

struct BackendTotals {
  std::array<uint64_t, kStatusClasses> responses{};  // lbd_backend_requests_total by code class
  HistogramTotals response_time;                     // lbd_backend_response_seconds
  HistogramTotals first_byte;                        // lbd_backend_first_byte_seconds
  uint64_t streams_interrupted = 0;                  // lbd_streams_interrupted_total
  uint64_t streams_ended = 0;                        // lbd_streams_ended_total

  uint64_t requests() const;
  uint64_t errors() const { return responses[status_class(500)]; }
};

class BackendStats {
 public:
  // A response head from the backend (status >= 200).
  void count_response(unsigned worker, int status) { slots_.local(worker).responses[status_class(status)].add(); }
  // An attempt that failed without a response (connect failure, reset,
  // timeout, invalid response): lbd answers 502/504 or retries, so it counts
  // as a 5xx of this backend.
  void count_failure(unsigned worker) { slots_.local(worker).responses[status_class(502)].add(); }
  // From sending the request to the end of the backend's response.
  void observe_response_time(unsigned worker, std::chrono::microseconds d) { slots_.local(worker).time.observe(d); }
  // From sending the request to the response head: for a model server,
  // the time in its queue plus the prefill users wait before a first token.
  void observe_first_byte(unsigned worker, std::chrono::microseconds d) { slots_.local(worker).first_byte.observe(d); }
  // A response the backend cut after its head had gone to the client.
  void count_stream_interrupted(unsigned worker) { slots_.local(worker).interrupted.add(); }
  // A long stream (SSE response, WebSocket) lbd ended itself after
  // shutdown_timeout: at stop, or because the backend was drained or removed.
  void count_stream_ended(unsigned worker) { slots_.local(worker).ended.add(); }

  BackendTotals totals() const;

 private:
  struct alignas(64) Slot {
    std::array<LocalCounter, kStatusClasses> responses;
    HistogramCells time;
    HistogramCells first_byte;
    LocalCounter interrupted;
    LocalCounter ended;
  };
  PerWorker<Slot> slots_;
};

}  // namespace lb::metrics
