#pragma once
// Passive health (nginx's max_fails/fail_timeout): real requests that fail
// at the transport level — connect failures, resets, response timeouts,
// malformed responses — count against their backend; `max_fails` of them
// within `fail_timeout` eject it for `fail_timeout`, after which it gets
// traffic again. In a pool with active checks it comes back only once a
// check has passed after that time (HAProxy's observe + health check).
// A successful response clears the count.
// No cascade: an ejection that would leave more than max_ejected_percent of
// the pool out is not made (Envoy's max_ejection_percent), and a pool of one
// backend is never passively ejected (nginx's rule): a lone backend that
// fails still gets the requests, which is better than 503 for everyone.
#include <string_view>

#include "lb/balance/backend.h"
#include "lb/balance/strategy.h"
#include "lb/config/config.h"

namespace lb::health {

// `what` names the failure (for the ejection's reason); `members` is the
// backend's pool. Returns true when this failure ejected the backend.
bool record_failure(balance::Backend& backend, const config::PoolConfig& pool, const balance::BackendList& members,
                    TimePoint now, std::string_view what);
// Would ejecting one more backend of `members` stay within the pool's cap?
bool ejection_allowed(const config::PoolConfig& pool, const balance::BackendList& members, TimePoint now);
void record_success(balance::Backend& backend);

}  // namespace lb::health
