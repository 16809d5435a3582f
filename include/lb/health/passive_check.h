#pragma once
// Passive health (nginx's max_fails/fail_timeout): real requests that fail
// at the transport level count against their backend; `max_fails` of them
// within `fail_timeout` eject it for `fail_timeout`, after which it gets
// traffic again. A successful response clears the count.
#include "lb/balance/backend.h"
#include "lb/config/config.h"

namespace lb::health {

// Returns true when this failure ejected the backend.
bool record_failure(balance::Backend& backend, const config::PassiveCheck& cfg, TimePoint now);
void record_success(balance::Backend& backend);

}  // namespace lb::health
