#pragma once
// What a reload binds before any worker sees the new config, on the control
// thread: the listeners it adds or moves, one SO_REUSEPORT socket per worker
// each, all or nothing. The workers take the sockets over
// (proxy::ListenerSet::apply); a reload that cannot bind is refused with
// nothing changed.
#include <string>
#include <vector>

#include "lb/config/config.h"
#include "lb/proxy/listener_set.h"

namespace lb::control {

// Listeners of `next` that `previous` does not have under the same name and
// address: the ones a reload must bind.
std::vector<const config::ListenerConfig*> added_listeners(const config::Config& previous,
                                                           const config::Config& next);

// Binds `count` sockets (one per worker) for each listener in `listeners`.
// All or nothing: on failure nothing stays open and `error` says why.
bool bind_listeners(const std::vector<const config::ListenerConfig*>& listeners, unsigned count,
                    std::vector<std::vector<proxy::ListeningSocket>>* per_worker, std::string* error);

}  // namespace lb::control
