#include "lb/metrics/exposition.h"

#include <prometheus/text_serializer.h>

#include <sstream>

#include "lb/balance/load_report.h"
#include "lb/http2/session.h"
#include "lb/metrics/backend_state.h"

namespace lb::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_gauge(MetricFamily& f, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

void add_counter(MetricFamily& f, Labels labels, uint64_t value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = double(value);
  f.metric.push_back(std::move(m));
}

void add_histogram(MetricFamily& f, Labels labels, const HistogramTotals& h) {
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  m.histogram.bucket.reserve(kLatencyBuckets);
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
    cumulative += h.buckets[i];
    m.histogram.bucket.push_back({cumulative, kLatencyBounds[i]});
  }
  // The serializer adds le="+Inf" with the sample count.
  m.histogram.sample_count = cumulative + h.buckets[kLatencyBounds.size()];
  m.histogram.sample_sum = h.sum_seconds();
  f.metric.push_back(std::move(m));
}

void collect_backends(const proxy::Snapshot& snap, TimePoint now, std::vector<MetricFamily>& out) {
  auto up = family("lbd_backend_up", "1 if the backend is healthy and not passively ejected, else 0.",
                   MetricType::Gauge);
  auto state = family("lbd_backend_state",
                      "1 for the backend's current state (up, down, draining, maint, ejected), 0 for the others.",
                      MetricType::Gauge);
  auto requests = family("lbd_backend_requests_total",
                         "Responses from the backend by status class; attempts that failed without a response "
                         "count as 5xx.",
                         MetricType::Counter);
  auto response = family("lbd_backend_response_seconds",
                         "Time from sending the request to the end of the backend's response.",
                         MetricType::Histogram);
  auto active = family("lbd_backend_active_requests", "Requests in flight to the backend, over all workers.",
                       MetricType::Gauge);
  auto first_byte = family("lbd_backend_first_byte_seconds",
                           "Time from sending the request to the backend's response head (queue plus prefill "
                           "for a model server).",
                           MetricType::Histogram);
  auto interrupted = family("lbd_streams_interrupted_total",
                            "Responses the backend cut after their head had gone to the client.",
                            MetricType::Counter);
  auto ended = family("lbd_streams_ended_total",
                      "Long streams (SSE, WebSocket) lbd ended itself after shutdown_timeout: at stop, or when "
                      "the backend was drained or removed.",
                      MetricType::Counter);
  // Not in DESIGN.md's table: beside active_requests, so a dashboard shows
  // how close each backend is to its cap (0 = no cap).
  auto max_requests = family("lbd_backend_max_requests",
                             "The backend's in-flight cap (max_requests, or as set by the admin API); 0 = none.",
                             MetricType::Gauge);
  // Pools with a load_report only: what least_load counts now, the latest
  // report while it is fresh (3 x load_report.interval), else 0.
  auto reported = family("lbd_backend_reported_load",
                         "Load the backend reported itself (load_report header or metric) while fresh, else 0.",
                         MetricType::Gauge);
  auto checks = family("lbd_backend_health_checks_total",
                       "Active health checks of the backend by result (success, failure, timeout).",
                       MetricType::Counter);

  for (const proxy::PoolRuntime& pool : snap.pools) {
    const std::string& pool_name = pool.config->name;
    for (const auto& b : pool.backends) {
      const Labels id = {{"pool", pool_name}, {"backend", b->name()}};
      add_gauge(up, id, backend_up(*b, now) ? 1 : 0);
      const BackendState current = backend_state(*b, now);
      for (BackendState s : kAllBackendStates) {
        Labels l = id;
        l.push_back({"state", std::string(state_name(s))});
        add_gauge(state, std::move(l), s == current ? 1 : 0);
      }
      const BackendTotals t = b->stats().totals();
      for (size_t c = 0; c < kStatusClasses; ++c) {
        Labels l = id;
        l.push_back({"code", std::string(kStatusClassNames[c])});
        add_counter(requests, std::move(l), t.responses[c]);
      }
      add_histogram(response, id, t.response_time);
      add_histogram(first_byte, id, t.first_byte);
      add_counter(interrupted, id, t.streams_interrupted);
      add_counter(ended, id, t.streams_ended);
      add_gauge(active, id, b->active_requests());
      add_gauge(max_requests, id, b->max_requests());
      if (balance::reports_load(pool.config->load_report))
        add_gauge(reported, id, balance::current_report(*b, pool.config->load_report, now).value_or(0));
      for (balance::CheckResult r :
           {balance::CheckResult::success, balance::CheckResult::failure, balance::CheckResult::timeout}) {
        Labels l = id;
        l.push_back({"result", std::string(balance::to_string(r))});
        add_counter(checks, std::move(l), b->checks(r));
      }
    }
  }
  for (auto* f : {&up, &state, &requests, &response, &first_byte, &interrupted, &ended, &active, &max_requests,
                  &reported, &checks})
    out.push_back(std::move(*f));
}

void collect_listeners(const proxy::Snapshot& snap, std::vector<MetricFamily>& out) {
  auto requests = family("lbd_requests_total",
                         "Requests answered by the listener, by status class (lbd's own errors included; a client "
                         "that gave up counts as 4xx).",
                         MetricType::Counter);
  auto duration = family("lbd_request_duration_seconds",
                         "Time from reading the request head to the end of lbd's answer.", MetricType::Histogram);
  auto active = family("lbd_connections_active", "Client connections open on the listener.", MetricType::Gauge);
  auto total = family("lbd_connections_total", "Client connections accepted by the listener.", MetricType::Counter);
  // Not in DESIGN.md's table: WebSocket tunnels outlive their request, so
  // requests_total (which counts each as one 1xx) cannot show how many are open.
  auto tunnels_active = family("lbd_tunnels_active", "WebSocket tunnels open on the listener.", MetricType::Gauge);
  auto tunnels_total = family("lbd_tunnels_total", "WebSocket tunnels opened on the listener.", MetricType::Counter);
  // Also not in the table: 429s are inside requests_total's 4xx with 404s
  // and client timeouts; an operator tuning rate_limit needs them alone.
  auto rate_limited = family("lbd_rate_limited_total", "Requests refused with 429 by the listener's rate_limit.",
                             MetricType::Counter);

  auto h2_active = family("lbd_http2_streams_active", "HTTP/2 streams open on the listener.", MetricType::Gauge);
  auto h2_total = family("lbd_http2_streams_total", "HTTP/2 streams (requests) opened on the listener.",
                         MetricType::Counter);
  auto h2_goaway = family("lbd_http2_goaway_total",
                          "HTTP/2 connections ended by lbd's GOAWAY, by reason (graceful: stop or reload; "
                          "the rest: limits, attacks, timeouts).",
                          MetricType::Counter);

  auto routes = family("lbd_route_requests_total",
                       "Requests that matched the route (route: its name, or its index in the listener's routes).",
                       MetricType::Counter);

  for (const proxy::ListenerRuntime& l : snap.listeners) {
    const Labels id = {{"listener", l.config->name}};
    for (const proxy::CompiledRoute& r : l.routes.routes())
      add_counter(routes, {{"listener", l.config->name}, {"route", r.label}}, r.stats->requests());
    const ListenerTotals t = l.state->stats.totals();
    for (size_t c = 0; c < kStatusClasses; ++c) {
      Labels labels = id;
      labels.push_back({"code", std::string(kStatusClassNames[c])});
      add_counter(requests, std::move(labels), t.requests[c]);
    }
    add_histogram(duration, id, t.duration);
    add_gauge(active, id, double(l.state->connections.load(std::memory_order_relaxed)));
    add_counter(total, id, t.connections);
    add_gauge(tunnels_active, id, double(l.state->tunnels_active.load(std::memory_order_relaxed)));
    add_counter(tunnels_total, id, l.state->tunnels_total.load(std::memory_order_relaxed));
    add_counter(rate_limited, id, l.state->rate_limited.load(std::memory_order_relaxed));
    add_gauge(h2_active, id, double(std::max<int64_t>(0, l.state->h2_streams_active.load(std::memory_order_relaxed))));
    add_counter(h2_total, id, t.h2_streams);
    for (size_t r = 1; r < http2::kGoawayReasons; ++r) {  // [0] is "none"
      Labels labels = id;
      labels.push_back({"reason", http2::goaway_reason_name(http2::GoawayReason(r))});
      add_counter(h2_goaway, std::move(labels), l.state->h2_goaway[r].load(std::memory_order_relaxed));
    }
  }
  for (auto* f : {&requests, &duration, &active, &total, &tunnels_active, &tunnels_total, &rate_limited, &h2_active,
                  &h2_total, &h2_goaway, &routes})
    out.push_back(std::move(*f));
}

void collect_pools(const proxy::Snapshot& snap, std::vector<MetricFamily>& out) {
  auto retries = family("lbd_retries_total", "Requests sent again to another backend after a failed attempt.",
                        MetricType::Counter);
  auto no_backend = family("lbd_no_backend_total", "Requests answered 503 because no backend was usable.",
                           MetricType::Counter);
  auto queue_length = family("lbd_pool_queue_length",
                             "Requests waiting for a backend slot (every usable backend at max_requests).",
                             MetricType::Gauge);
  auto queue_wait = family("lbd_pool_queue_wait_seconds", "Time requests waited in the queue before a backend took them.",
                           MetricType::Histogram);
  auto queue_rejected = family("lbd_pool_queue_rejected_total",
                               "Requests the queue turned away: full (503), timeout (503), client_gone (the client "
                               "left while waiting).",
                               MetricType::Counter);
  auto event_gap = family("lbd_stream_event_gap_seconds",
                          "Time between two events of one server-sent-events stream (inter-token latency).",
                          MetricType::Histogram);
  auto heartbeats = family("lbd_sse_heartbeats_total",
                           "': keepalive' comments lbd sent into silent event streams (streaming.sse_heartbeat).",
                           MetricType::Counter);
  auto budget = family("lbd_retry_budget_exhausted_total",
                       "Retries refused by the pool's retry budget (the failure was answered instead).",
                       MetricType::Counter);
  for (const proxy::PoolRuntime& p : snap.pools) {
    const PoolTotals t = p.stats ? p.stats->totals() : PoolTotals{};
    const Labels id = {{"pool", p.config->name}};
    add_counter(retries, id, t.retries);
    add_counter(no_backend, id, t.no_backend);
    add_gauge(queue_length, id, p.shared ? p.shared->queue.length() : 0);
    add_histogram(queue_wait, id, t.queue_wait);
    for (size_t r = 0; r < kQueueRejections; ++r) {
      Labels l = id;
      l.push_back({"reason", std::string(to_string(QueueRejection(r)))});
      add_counter(queue_rejected, std::move(l), t.queue_rejected[r]);
    }
    add_counter(budget, id, t.retry_budget_exhausted);
    add_histogram(event_gap, id, t.event_gap);
    add_counter(heartbeats, id, t.sse_heartbeats);
  }
  for (auto* f : {&retries, &no_backend, &queue_length, &queue_wait, &queue_rejected, &budget, &event_gap, &heartbeats})
    out.push_back(std::move(*f));
}

void collect_process(const ReloadStats& reloads, std::vector<MetricFamily>& out) {
  auto total = family("lbd_config_reloads_total", "Configuration reloads (SIGHUP) by result.", MetricType::Counter);
  add_counter(total, {{"result", "success"}}, reloads.successes);
  add_counter(total, {{"result", "failure"}}, reloads.failures);
  out.push_back(std::move(total));

  auto last = family("lbd_config_last_reload_successful",
                     "1 if the last reload (or the start-up load) succeeded, 0 if lbd runs an older config.",
                     MetricType::Gauge);
  add_gauge(last, {}, reloads.last_successful ? 1 : 0);
  out.push_back(std::move(last));

  auto build = family("lbd_build_info", "Always 1; the version label names the running lbd.", MetricType::Gauge);
  add_gauge(build, {{"version", LBD_VERSION}}, 1);
  out.push_back(std::move(build));
}

}  // namespace

std::vector<MetricFamily> collect(const proxy::Snapshot& snapshot, const ReloadStats& reloads, TimePoint now) {
  std::vector<MetricFamily> out;
  collect_backends(snapshot, now, out);
  collect_listeners(snapshot, out);
  collect_pools(snapshot, out);
  collect_process(reloads, out);
  return out;
}

std::string render_text(const std::vector<MetricFamily>& families) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, families);
  return std::move(os).str();
}

std::string scrape(const proxy::Snapshot& snapshot, const ReloadStats& reloads, TimePoint now) {
  return render_text(collect(snapshot, reloads, now));
}

}  // namespace lb::metrics
