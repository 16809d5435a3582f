#include "lb/metrics/backend_state.h"

namespace lb::metrics {

bool backend_up(const balance::Backend& b, TimePoint now) { return b.healthy() && !b.ejected_at(now); }

}  // namespace lb::metrics
