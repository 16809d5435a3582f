#include "lb/metrics/dns_stats.h"

namespace lb::metrics {

uint64_t DnsStats::successes(const std::string& pool) const {
  auto it = counts_.find(pool);
  return it == counts_.end() ? 0 : it->second.success;
}

uint64_t DnsStats::failures(const std::string& pool) const {
  auto it = counts_.find(pool);
  return it == counts_.end() ? 0 : it->second.failure;
}

prometheus::MetricFamily DnsStats::family() const {
  prometheus::MetricFamily f;
  f.name = "lbd_dns_resolutions_total";
  f.help = "DNS lookups for a pool's backend host names or discovery name, by result.";
  f.type = prometheus::MetricType::Counter;
  for (const auto& [pool, c] : counts_) {
    for (const auto& [result, value] : {std::pair{"success", c.success}, std::pair{"failure", c.failure}}) {
      prometheus::ClientMetric m;
      m.label = {{"pool", pool}, {"result", result}};
      m.counter.value = double(value);
      f.metric.push_back(std::move(m));
    }
  }
  return f;
}

}  // namespace lb::metrics
