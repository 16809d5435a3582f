#include "lb/metrics/backend_stats.h"

namespace lb::metrics {

uint64_t BackendTotals::requests() const {
  uint64_t n = 0;
  for (uint64_t r : responses) n += r;
  return n;
}

BackendTotals BackendStats::totals() const {
  BackendTotals t;
  slots_.for_each([&](const Slot& s) {
    for (size_t i = 0; i < kStatusClasses; ++i) t.responses[i] += s.responses[i].value();
    t.response_time.add(s.time);
    t.first_byte.add(s.first_byte);
    t.streams_interrupted += s.interrupted.value();
    t.streams_ended += s.ended.value();
  });
  return t;
}

}  // namespace lb::metrics
