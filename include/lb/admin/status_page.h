#pragma once
// GET /status: one self-contained HTML page (no external assets, refreshes
// itself) showing every listener, pool and backend with its state, weight,
// in-flight requests, request and error counts and latency — what an
// operator paged at night wants to read at a glance. Built in two steps so
// tests can check the model without parsing HTML: collect_status() reads
// the snapshot and the counters, render_status_page() only formats.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lb/admin/status_rates.h"
#include "lb/core/time.h"
#include "lb/health/health_monitor.h"
#include "lb/metrics/backend_state.h"
#include "lb/metrics/reload_stats.h"
#include "lb/proxy/snapshot.h"

namespace lb::admin {

struct StatusBackendRow {
  std::string name;
  std::string address;
  metrics::BackendState state = metrics::BackendState::up;
  // Why the backend is in its state (the health monitor's last transition).
  std::string reason;
  uint32_t weight = 0;
  int active = 0;             // in flight
  uint32_t max_requests = 0;  // its cap; 0 = none
  std::optional<double> reported_load;  // load_report while fresh; nullopt = none (or stale)
  std::optional<double> rate;  // requests per second since the previous render
  uint64_t requests = 0;      // responses + failed attempts since start
  uint64_t errors = 0;        // of those, 5xx (incl. failed attempts)
  uint64_t timed = 0;         // responses with a response time
  double mean_seconds = 0;    // since start
  double p99_seconds = 0;     // since start, histogram estimate
};

struct StatusPoolRow {
  std::string name;
  std::string strategy;
  std::vector<StatusBackendRow> backends;
  uint64_t retries = 0;
  uint64_t no_backend = 0;
  uint32_t queue_length = 0;  // waiting for a backend slot now
  uint32_t queue_max = 0;     // 0: no queue
  uint64_t queue_rejected = 0;  // turned away since start (full, timeout, client gone)
  bool reports_load = false;    // has a load_report: the page shows a "Reported load" column

  size_t up_count() const;
};

struct StatusListenerRow {
  std::string name;
  std::string listen;
  uint64_t connections_active = 0;
  uint64_t connections_total = 0;
  uint64_t requests = 0;
  std::optional<double> rate;  // requests per second since the previous render
  uint64_t errors_4xx = 0;
  uint64_t errors_5xx = 0;
  double p99_seconds = 0;
  int64_t h2_streams_active = 0;
  uint64_t h2_streams_total = 0;
  // HTTP/2 connections ended by a limit or an attack (GOAWAY reasons other
  // than graceful and idle_timeout), and which ones ("rapid_reset: 2").
  uint64_t h2_goaways = 0;
  std::string h2_goaway_reasons;
};

struct StatusRouteRow {
  std::string listener;
  std::string label;   // the route's name, or its index
  std::string match;   // its conditions, e.g. "host *.example.com, path_prefix /api/"
  std::string action;  // e.g. "pool app", "pools v1 90, v2 10 by cookie:uid", "redirect 308"
  uint64_t requests = 0;
  std::optional<double> rate;  // requests per second since the previous render
};

struct StatusModel {
  std::string version;
  uint64_t generation = 0;  // config generation (1 + successful reloads)
  bool last_reload_ok = true;
  uint64_t reload_failures = 0;
  std::string generated_at;  // wall-clock time, UTC, ISO 8601
  std::vector<StatusListenerRow> listeners;
  std::vector<StatusRouteRow> routes;
  std::vector<StatusPoolRow> pools;
  int refresh_seconds = 5;
};

// `rates` (may be null) keeps the counters between renders for the req/s
// column; `health` (may be null) gives each backend's reason.
StatusModel collect_status(const proxy::Snapshot& snapshot, const metrics::ReloadStats& reloads, TimePoint now,
                           StatusRates* rates = nullptr, const health::HealthMonitor* health = nullptr);
std::string render_status_page(const StatusModel& model);

}  // namespace lb::admin
