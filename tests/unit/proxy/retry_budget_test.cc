#include "lb/proxy/retry_budget.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace lb::proxy {
namespace {

TEST(RetryBudget, AllowsAShareOfRequestsInFlightButNeverFewerThanTheMinimum) {
  const config::RetryBudget b{.percent = 20, .min_retries = 3};
  EXPECT_EQ(RetryBudget::allowed(b, 0), 3);
  EXPECT_EQ(RetryBudget::allowed(b, 10), 3);    // 20% of 10 = 2 < 3
  EXPECT_EQ(RetryBudget::allowed(b, 100), 20);
  EXPECT_EQ(RetryBudget::allowed(b, 104), 20);  // rounded down
  EXPECT_EQ(RetryBudget::allowed({.percent = 0, .min_retries = 0}, 1000), 0);
}

TEST(RetryBudget, RefusesRetriesOverTheBudgetUntilOneEnds) {
  RetryBudget budget;
  const config::RetryBudget cfg{.percent = 50, .min_retries = 1};
  for (int i = 0; i < 4; ++i) budget.request_started();
  EXPECT_TRUE(budget.try_start_retry(cfg));
  EXPECT_TRUE(budget.try_start_retry(cfg));
  EXPECT_FALSE(budget.try_start_retry(cfg));  // 2 of 4 = 50%
  budget.retry_ended();
  EXPECT_TRUE(budget.try_start_retry(cfg));
  EXPECT_EQ(budget.retries_in_flight(), 2);
  for (int i = 0; i < 4; ++i) budget.request_ended();
  EXPECT_EQ(budget.requests_in_flight(), 0);
}

TEST(RetryBudget, ConcurrentWorkersNeverTakeMoreThanTheBudget) {
  RetryBudget budget;
  const config::RetryBudget cfg{.percent = 0, .min_retries = 5};
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (budget.try_start_retry(cfg)) granted.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 5);
}

}  // namespace
}  // namespace lb::proxy
