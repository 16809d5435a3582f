#pragma once
// What an Exchange does when an attempt fails before any byte of the answer
// reached the client: answer the failure, try the same backend again on a
// fresh connection, or retry on another backend, and whether that retry
// costs the pool's retry budget. Pure: the Exchange gathers the facts,
// carries out the decision, and counts it (retries, budget refusals).
//
// The rules (nginx's proxy_next_upstream "error timeout", plus Envoy's
// retry budget):
// - A response timeout or an invalid response: the backend had the whole
//   request, so only an idempotent one is sent again (504 / 502 otherwise).
// - A refused, timed-out or TLS-failed connect: nothing was sent, any
//   request may go elsewhere, and the retry costs no budget (no backend
//   took load).
// - A pooled keep-alive connection the backend had closed as we reused it
//   (stale): not the backend's failure; the same backend is tried once more
//   on a fresh connection, which is no retry at all.
// - Any other failure after the request left (EOF or reset before an
//   answer): idempotent requests only.
// - A retry away from a backend already taken out for failing (ejected,
//   perhaps by this very failure, or down) costs no budget: a dead
//   backend's requests in flight are no retry storm.
// - A request whose body was not kept for replay is never sent twice.
#include "lb/proxy/upstream_failure.h"

namespace lb::proxy {

struct FailedAttempt {
  UpstreamFailure why = UpstreamFailure::closed_early;
  bool reused = false;            // the attempt ran on a pooled keep-alive connection
  bool idempotent = false;        // the request's method may be sent twice
  bool replayable = false;        // the whole request is still at hand to send again
  bool stale_retry_used = false;  // the same-backend retry after a stale connection was spent
  bool backend_out = false;       // the backend is ejected or down now
};

struct RetryDecision {
  enum class Action { answer, same_backend, other_backend };
  Action action = Action::answer;
  int status = 502;           // answered now, or if the retry is refused
  bool costs_budget = false;  // other_backend: ask the pool's retry budget first
};

RetryDecision decide_retry(const FailedAttempt& failed);

// A pooled connection the backend had closed as we reused it: not the
// backend's failure, so neither counted against it nor toward its ejection.
inline bool stale_connection(UpstreamFailure why, bool reused) {
  return reused && why == UpstreamFailure::closed_early;
}

}  // namespace lb::proxy
