#pragma once
// lbd_dns_resolutions_total{pool, result}: DNS lookups made for a pool
// (its backends' host names or its discovery name), by outcome. Counted
// and scraped on the control thread only, so plain integers; kept by pool
// name for the life of the process, like Prometheus expects of a counter.
#include <cstdint>
#include <map>
#include <string>

#include <prometheus/metric_family.h>

namespace lb::metrics {

class DnsStats {
 public:
  void count(const std::string& pool, bool success) {
    Counts& c = counts_[pool];
    ++(success ? c.success : c.failure);
  }
  uint64_t successes(const std::string& pool) const;
  uint64_t failures(const std::string& pool) const;
  prometheus::MetricFamily family() const;

 private:
  struct Counts {
    uint64_t success = 0;
    uint64_t failure = 0;
  };
  std::map<std::string, Counts> counts_;
};

}  // namespace lb::metrics
