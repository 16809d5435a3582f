#pragma once
// GET /metrics: every metric of DESIGN.md §1, built at scrape time from
// lbd's own counters (per-worker shards summed, backend atomics read) into
// prometheus-cpp MetricFamily values and serialized with its
// TextSerializer. Nothing here runs on the request path.
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "lb/core/time.h"
#include "lb/metrics/reload_stats.h"
#include "lb/proxy/snapshot.h"

namespace lb::metrics {

// The Prometheus text exposition format's content type.
inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

std::vector<prometheus::MetricFamily> collect(const proxy::Snapshot& snapshot, const ReloadStats& reloads,
                                              TimePoint now);
std::string render_text(const std::vector<prometheus::MetricFamily>& families);

// collect + render_text.
std::string scrape(const proxy::Snapshot& snapshot, const ReloadStats& reloads, TimePoint now);

}  // namespace lb::metrics
