#include "lb/metrics/listener_stats.h"

namespace lb::metrics {

uint64_t ListenerTotals::request_count() const {
  uint64_t n = 0;
  for (uint64_t r : requests) n += r;
  return n;
}

ListenerTotals ListenerStats::totals() const {
  ListenerTotals t;
  slots_.for_each([&](const Slot& s) {
    for (size_t i = 0; i < kStatusClasses; ++i) t.requests[i] += s.requests[i].value();
    t.duration.add(s.duration);
    t.connections += s.connections.value();
    t.h2_streams += s.h2_streams.value();
  });
  return t;
}

}  // namespace lb::metrics
