#include "lb/proxy/retry_policy.h"

#include <gtest/gtest.h>

namespace lb::proxy {
namespace {

using Action = RetryDecision::Action;

FailedAttempt get_failed(UpstreamFailure why, bool reused = false) {
  FailedAttempt f;
  f.why = why;
  f.reused = reused;
  f.idempotent = true;
  f.replayable = true;
  return f;
}

FailedAttempt post_failed(UpstreamFailure why, bool reused = false) {
  FailedAttempt f = get_failed(why, reused);
  f.idempotent = false;
  return f;
}

TEST(RetryPolicy, ResponseTimeoutRetriesOnlyIdempotentRequests) {
  const RetryDecision get = decide_retry(get_failed(UpstreamFailure::response_timeout));
  EXPECT_EQ(get.action, Action::other_backend);
  EXPECT_EQ(get.status, 504);  // if the budget refuses
  EXPECT_TRUE(get.costs_budget);
  const RetryDecision post = decide_retry(post_failed(UpstreamFailure::response_timeout));
  EXPECT_EQ(post.action, Action::answer);
  EXPECT_EQ(post.status, 504);
  EXPECT_EQ(decide_retry(post_failed(UpstreamFailure::invalid_response)).status, 502);
}

TEST(RetryPolicy, ConnectFailuresRetryAnyRequestForFree) {
  for (auto why : {UpstreamFailure::connect_failed, UpstreamFailure::connect_timeout, UpstreamFailure::tls_failed}) {
    const RetryDecision d = decide_retry(post_failed(why));
    EXPECT_EQ(d.action, Action::other_backend) << failure_name(why);
    EXPECT_FALSE(d.costs_budget) << failure_name(why);
    EXPECT_EQ(d.status, 502);
  }
}

TEST(RetryPolicy, StaleConnectionTriesTheSameBackendOnceWithoutBlame) {
  EXPECT_TRUE(stale_connection(UpstreamFailure::closed_early, /*reused=*/true));
  EXPECT_FALSE(stale_connection(UpstreamFailure::closed_early, /*reused=*/false));
  EXPECT_FALSE(stale_connection(UpstreamFailure::response_timeout, /*reused=*/true));
  // Even a POST: the backend closed the idle connection, it read nothing.
  FailedAttempt f = post_failed(UpstreamFailure::closed_early, /*reused=*/true);
  EXPECT_EQ(decide_retry(f).action, Action::same_backend);
  f.stale_retry_used = true;
  const RetryDecision again = decide_retry(f);
  EXPECT_EQ(again.action, Action::other_backend);
  EXPECT_TRUE(again.costs_budget);
}

TEST(RetryPolicy, ClosedEarlyOnAFreshConnectionRetriesOnlyIdempotentRequests) {
  EXPECT_EQ(decide_retry(get_failed(UpstreamFailure::closed_early)).action, Action::other_backend);
  const RetryDecision post = decide_retry(post_failed(UpstreamFailure::closed_early));
  EXPECT_EQ(post.action, Action::answer);
  EXPECT_EQ(post.status, 502);
}

TEST(RetryPolicy, ARequestNotKeptForReplayIsNeverSentTwice) {
  for (auto why : {UpstreamFailure::connect_failed, UpstreamFailure::closed_early, UpstreamFailure::response_timeout}) {
    FailedAttempt f = get_failed(why, /*reused=*/true);
    f.replayable = false;
    EXPECT_EQ(decide_retry(f).action, Action::answer) << failure_name(why);
  }
}

TEST(RetryPolicy, RetriesAwayFromABackendTakenOutCostNoBudget) {
  for (auto why : {UpstreamFailure::closed_early, UpstreamFailure::response_timeout,
                   UpstreamFailure::invalid_response}) {
    FailedAttempt f = get_failed(why);
    f.backend_out = true;
    const RetryDecision d = decide_retry(f);
    EXPECT_EQ(d.action, Action::other_backend) << failure_name(why);
    EXPECT_FALSE(d.costs_budget) << failure_name(why);
  }
  // Being out never makes an unsafe retry safe.
  FailedAttempt post = post_failed(UpstreamFailure::closed_early);
  post.backend_out = true;
  EXPECT_EQ(decide_retry(post).action, Action::answer);
}

}  // namespace
}  // namespace lb::proxy
