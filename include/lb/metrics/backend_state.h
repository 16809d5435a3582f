#pragma once
// The one state a backend is shown in (lbd_backend_state, lbd_backend_up,
// the status page), from the Backend's run-time atomics. Operator states
// win over health: a backend in maintenance is "maint" whether or not its
// checks pass.
#include <string_view>

#include "lb/balance/backend.h"
#include "lb/core/time.h"

namespace lb::metrics {

enum class BackendState { up, down, draining, maint, ejected };
inline constexpr BackendState kAllBackendStates[] = {BackendState::up, BackendState::down, BackendState::draining,
                                                     BackendState::maint, BackendState::ejected};

BackendState backend_state(const balance::Backend& b, TimePoint now);
std::string_view state_name(BackendState s);
// lbd_backend_up: healthy and not passively ejected (admin states aside:
// a drained backend is still up, just not sent new traffic).
bool backend_up(const balance::Backend& b, TimePoint now);

}  // namespace lb::metrics
