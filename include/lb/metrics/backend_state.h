#pragma once
// The one state a backend is shown in (lbd_backend_state, lbd_backend_up,
// the status page). The state itself is Backend::state_at (health, admin
// state and passive ejection); this file names the label values and the
// order they are exported in.
#include <string_view>

#include "lb/balance/backend.h"
#include "lb/core/time.h"

namespace lb::metrics {

using BackendState = balance::BackendState;
inline constexpr BackendState kAllBackendStates[] = {BackendState::up, BackendState::down, BackendState::draining,
                                                     BackendState::maint, BackendState::ejected};

inline BackendState backend_state(const balance::Backend& b, TimePoint now) { return b.state_at(now); }
inline std::string_view state_name(BackendState s) { return balance::to_string(s); }
// lbd_backend_up: healthy and not passively ejected (admin states aside:
// a drained backend is still up, just not sent new traffic).
bool backend_up(const balance::Backend& b, TimePoint now);

}  // namespace lb::metrics
