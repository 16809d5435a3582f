#pragma once
// Per-pool counters, per worker: retries on another backend, requests
// answered 503 because no backend was usable, the waiting room's rejections
// and waits, and retries the retry budget refused. Carried across reloads
// by pool name (control::build_snapshot).
#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "lb/metrics/latency_histogram.h"
#include "lb/metrics/local_counter.h"
#include "lb/metrics/per_worker.h"

namespace lb::metrics {

// Why the waiting room turned a request away (lbd_pool_queue_rejected_total).
enum class QueueRejection : uint8_t { full, timeout, client_gone };
inline constexpr size_t kQueueRejections = 3;
std::string_view to_string(QueueRejection r);

struct PoolTotals {
  uint64_t retries = 0;     // lbd_retries_total
  uint64_t no_backend = 0;  // lbd_no_backend_total
  std::array<uint64_t, kQueueRejections> queue_rejected{};  // lbd_pool_queue_rejected_total
  uint64_t retry_budget_exhausted = 0;                      // lbd_retry_budget_exhausted_total
  HistogramTotals queue_wait;                               // lbd_pool_queue_wait_seconds
  HistogramTotals event_gap;                                // lbd_stream_event_gap_seconds
  uint64_t sse_heartbeats = 0;                              // lbd_sse_heartbeats_total
};

class PoolStats {
 public:
  void count_retry(unsigned worker) { slots_.local(worker).retries.add(); }
  void count_no_backend(unsigned worker) { slots_.local(worker).no_backend.add(); }
  void count_queue_rejected(unsigned worker, QueueRejection why) {
    slots_.local(worker).queue_rejected[static_cast<size_t>(why)].add();
  }
  void count_retry_budget_exhausted(unsigned worker) { slots_.local(worker).retry_budget_exhausted.add(); }
  // Every request that waited and was let in.
  void observe_queue_wait(unsigned worker, std::chrono::microseconds waited) {
    slots_.local(worker).queue_wait.observe(waited);
  }

  // Time between two SSE events of one stream (inter-token latency).
  void observe_event_gap(unsigned worker, std::chrono::microseconds gap) { slots_.local(worker).event_gap.observe(gap); }
  void count_sse_heartbeat(unsigned worker) { slots_.local(worker).sse_heartbeats.add(); }

  PoolTotals totals() const {
    PoolTotals t;
    slots_.for_each([&](const Slot& s) {
      t.retries += s.retries.value();
      t.no_backend += s.no_backend.value();
      for (size_t i = 0; i < kQueueRejections; ++i) t.queue_rejected[i] += s.queue_rejected[i].value();
      t.retry_budget_exhausted += s.retry_budget_exhausted.value();
      t.queue_wait.add(s.queue_wait);
      t.event_gap.add(s.event_gap);
      t.sse_heartbeats += s.sse_heartbeats.value();
    });
    return t;
  }

 private:
  struct alignas(64) Slot {
    LocalCounter retries;
    LocalCounter no_backend;
    std::array<LocalCounter, kQueueRejections> queue_rejected;
    LocalCounter retry_budget_exhausted;
    HistogramCells queue_wait;
    HistogramCells event_gap;
    LocalCounter sse_heartbeats;
  };
  PerWorker<Slot> slots_;
};

}  // namespace lb::metrics
