#include "lb/health/http_check.h"

#include <gtest/gtest.h>

namespace lb::health {
namespace {

TEST(HttpCheckStatus, MatchesRangesAndSingleCodes) {
  const std::vector<config::StatusRange> expected{{200, 200}, {300, 302}};
  EXPECT_TRUE(status_expected(expected, 200));
  EXPECT_TRUE(status_expected(expected, 301));
  EXPECT_FALSE(status_expected(expected, 204));
  EXPECT_FALSE(status_expected(expected, 503));
  EXPECT_EQ(describe_expected(expected), "200, 300-302");
}

TEST(HttpCheckStatus, DefaultIs200To399) {
  const config::HealthCheck cfg;
  EXPECT_TRUE(status_expected(cfg.expect_status, 399));
  EXPECT_FALSE(status_expected(cfg.expect_status, 400));
  EXPECT_EQ(describe_expected(cfg.expect_status), "200-399");
}

}  // namespace
}  // namespace lb::health
