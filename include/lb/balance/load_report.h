#pragma once
// What a backend says about its own load (load_report), as numbers lbd can
// trust: both readers take bytes the backend controls and refuse anything
// that is not a plain, finite, non-negative number. Pure functions, so
// unit tests and the fuzz target (tests/fuzz/prom_gauge_fuzz.cc) drive them.
#include <optional>
#include <string_view>

#include "lb/balance/backend.h"
#include "lb/config/config.h"

namespace lb::balance {

// Reports above this are clamped: a backend claiming a queue of 1e300 is
// "very loaded", and the cap keeps the sum with in-flight counts exact.
inline constexpr double kMaxReportedLoad = 1e6;

// A report older than this many load_report.interval counts for nothing.
inline constexpr int kLoadReportStaleAfter = 3;

// The value of a load header, e.g. "7" or " 3.5 ". Refused (nullopt):
// empty, negative, NaN, infinities, hex, a list ("7, 8": the header was
// repeated), trailing garbage; clamped to kMaxReportedLoad.
std::optional<double> parse_load_value(std::string_view text);

// The sum of every sample of gauge `name` in a Prometheus text exposition
// (any label set), clamped to kMaxReportedLoad. nullopt when the name has
// no valid sample, or when one of its samples is negative, NaN or infinite:
// a backend whose report cannot be read counts as not reporting. Lines of
// other metrics are skipped without being parsed; a malformed line of this
// one refuses the whole report.
std::optional<double> parse_prometheus_gauge(std::string_view text, std::string_view name);

// Does the pool read reports at all (header or metric)?
inline bool reports_load(const config::LoadReport& lr) { return !lr.header.empty() || !lr.metric.empty(); }

// The backend's report as least_load counts it now: nullopt when the pool
// reads none, none came yet, or the last is older than
// kLoadReportStaleAfter x interval. For the gauge, the status page and the API.
inline std::optional<double> current_report(const Backend& b, const config::LoadReport& lr, TimePoint now) {
  if (!reports_load(lr) || !b.has_reported_load() || now - b.reported_load_at() > kLoadReportStaleAfter * lr.interval)
    return std::nullopt;
  return b.reported_load();
}

}  // namespace lb::balance
