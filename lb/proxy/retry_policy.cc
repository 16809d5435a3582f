#include "lb/proxy/retry_policy.h"

namespace lb::proxy {

RetryDecision decide_retry(const FailedAttempt& failed) {
  using Action = RetryDecision::Action;
  RetryDecision d;
  const bool stale = stale_connection(failed.why, failed.reused);
  if (failed.why == UpstreamFailure::response_timeout || failed.why == UpstreamFailure::invalid_response) {
    d.status = failed.why == UpstreamFailure::response_timeout ? 504 : 502;
    if (!failed.idempotent || !failed.replayable) return d;
    d.action = Action::other_backend;
    d.costs_budget = !failed.backend_out;
    return d;
  }
  const bool nothing_sent = failed.why == UpstreamFailure::connect_failed ||
                            failed.why == UpstreamFailure::connect_timeout || failed.why == UpstreamFailure::tls_failed;
  if (!(nothing_sent || stale || failed.idempotent) || !failed.replayable) return d;
  if (stale && !failed.stale_retry_used) {
    d.action = Action::same_backend;
    return d;
  }
  d.action = Action::other_backend;
  d.costs_budget = !nothing_sent && !failed.backend_out;
  return d;
}

}  // namespace lb::proxy
