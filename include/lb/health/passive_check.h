#pragma once
// Passive health (nginx's max_fails/fail_timeout): real requests that fail
// at the transport level — connect failures, resets, response timeouts,
// malformed responses — count against their backend; `max_fails` of them
// within `fail_timeout` eject it for `fail_timeout`, after which it gets
// traffic again. In a pool with active checks it comes back only once a
// check has passed after that time (HAProxy's observe + health check).
// A successful response clears the count.
#include <string_view>

#include "lb/balance/backend.h"
#include "lb/config/config.h"

namespace lb::health {

// `what` names the failure (for the ejection's reason). Returns true when
// this failure ejected the backend.
bool record_failure(balance::Backend& backend, const config::PoolConfig& pool, TimePoint now, std::string_view what);
void record_success(balance::Backend& backend);

}  // namespace lb::health
