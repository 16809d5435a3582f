#pragma once
// "Requests per second now" for the status page. Counters since start say
// little at 3 a.m.; the page remembers each counter as of its previous
// render and shows the rate since then (the page refreshes itself, so that
// is the last few seconds). Control thread only, like the admin listener.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "lb/core/time.h"

namespace lb::admin {

class StatusRates {
 public:
  // The per-second rate of the counter `key` now at `count`, against the
  // sample kept from an earlier call at least a second ago (a quicker
  // reload of the page shows the rate it showed before). Nothing the first
  // time a key is seen, or after the counter went backwards (a backend
  // re-created by a reload).
  std::optional<double> rate(const std::string& key, uint64_t count, TimePoint now);
  // Forgets counters not asked for in `idle` (removed backends).
  void prune(TimePoint now, Duration idle);
  size_t size() const { return samples_.size(); }

 private:
  struct Sample {
    uint64_t count = 0;
    TimePoint at{};
    TimePoint asked{};
    std::optional<double> last_rate;
  };
  std::unordered_map<std::string, Sample> samples_;
};

}  // namespace lb::admin
