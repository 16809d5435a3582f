#include "lb/metrics/backend_state.h"

namespace lb::metrics {

// The single place that maps a Backend to what operators see; when health
// grows its own state enum, only this function changes.
BackendState backend_state(const balance::Backend& b, TimePoint now) {
  switch (b.admin_state()) {
    case balance::AdminState::maint:
      return BackendState::maint;
    case balance::AdminState::draining:
      return BackendState::draining;
    case balance::AdminState::ready:
      break;
  }
  if (!b.healthy()) return BackendState::down;
  if (b.ejected_at(now)) return BackendState::ejected;
  return BackendState::up;
}

bool backend_up(const balance::Backend& b, TimePoint now) { return b.healthy() && !b.ejected_at(now); }

std::string_view state_name(BackendState s) {
  switch (s) {
    case BackendState::up:
      return "up";
    case BackendState::down:
      return "down";
    case BackendState::draining:
      return "draining";
    case BackendState::maint:
      return "maint";
    case BackendState::ejected:
      return "ejected";
  }
  return "unknown";
}

}  // namespace lb::metrics
