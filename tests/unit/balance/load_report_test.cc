#include "lb/balance/load_report.h"

#include <gtest/gtest.h>

#include <string>

namespace lb::balance {
namespace {

TEST(BalanceLoadReport, PlainNumbersAreRead) {
  EXPECT_EQ(parse_load_value("7"), 7.0);
  EXPECT_EQ(parse_load_value(" 3.5\t"), 3.5);
  EXPECT_EQ(parse_load_value("0"), 0.0);
  EXPECT_EQ(parse_load_value("1e3"), 1000.0);
}

TEST(BalanceLoadReport, HostileHeaderValuesAreRefusedOrClamped) {
  for (const char* bad : {"", " ", "-1", "-0", "-0.5", "nan", "NaN", "inf", "-inf", "infinity", "0x10", "+7", "7 8",
                          "7, 8", "7abc", "abc", "\x01", "1e", "--1", "7\r\n"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(bad)));
    EXPECT_EQ(parse_load_value(bad), std::nullopt);
  }
  EXPECT_EQ(parse_load_value("1e300"), kMaxReportedLoad);
  EXPECT_EQ(parse_load_value("1e999"), kMaxReportedLoad);  // beyond double: still "very loaded"
  EXPECT_EQ(parse_load_value("99999999999999999999999"), kMaxReportedLoad);
  EXPECT_EQ(parse_load_value("1e-999"), 0.0);
  EXPECT_EQ(parse_load_value(std::string(100000, '9')), kMaxReportedLoad);
}

TEST(BalanceLoadReport, GaugeIsFoundAmongOtherMetrics) {
  const std::string text =
      "# HELP vllm:num_requests_waiting Requests waiting.\n"
      "# TYPE vllm:num_requests_waiting gauge\n"
      "vllm:num_requests_running 9\n"
      "vllm:num_requests_waiting_total 100\n"
      "vllm:num_requests_waiting 4\n"
      "other 1\n";
  EXPECT_EQ(parse_prometheus_gauge(text, "vllm:num_requests_waiting"), 4.0);
  EXPECT_EQ(parse_prometheus_gauge(text, "vllm:num_requests_running"), 9.0);
  EXPECT_EQ(parse_prometheus_gauge(text, "missing"), std::nullopt);
  EXPECT_EQ(parse_prometheus_gauge(text, ""), std::nullopt);
}

TEST(BalanceLoadReport, LabelSetsAreSummedAndTimestampsIgnored) {
  const std::string text =
      "queue{model=\"a\"} 2 1700000000000\r\n"
      "queue{model=\"b}\\\"x\",gpu=\"1\"} 3.5\r\n"
      "  queue 1  \n";
  EXPECT_EQ(parse_prometheus_gauge(text, "queue"), 6.5);
}

TEST(BalanceLoadReport, HostileExpositionsAreRefused) {
  for (const char* bad : {"queue -1\n", "queue NaN\n", "queue +Inf\n", "queue\n", "queue{a=\"1\" 3\n",
                          "queue{a=\"1\"}\n", "queue 1\nqueue x\n", "queue{a=\"}\n", "queue 0x5\n"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(bad)));
    EXPECT_EQ(parse_prometheus_gauge(bad, "queue"), std::nullopt);
  }
  // Huge values and many of them add up to the cap, never beyond.
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "queue{i=\"" + std::to_string(i) + "\"} 1e5\n";
  EXPECT_EQ(parse_prometheus_gauge(many, "queue"), kMaxReportedLoad);
  // A body of NULs or one endless line is just "not found".
  EXPECT_EQ(parse_prometheus_gauge(std::string(4096, '\0'), "queue"), std::nullopt);
  EXPECT_EQ(parse_prometheus_gauge(std::string(1 << 20, 'q'), "queue"), std::nullopt);
}

}  // namespace
}  // namespace lb::balance
