#include "lb/config/units.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace lb::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(UnitsDuration, AcceptsEveryUnit) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("3s"), seconds(3));
  EXPECT_EQ(parse_duration("30m"), minutes(30));
  EXPECT_EQ(parse_duration("1h"), hours(1));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));  // zero is a value; the loader decides where it is allowed
}

TEST(UnitsDuration, AcceptsDecimalsThatAreWholeMilliseconds) {
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration("0.25s"), milliseconds(250));
  EXPECT_EQ(parse_duration("1.5h"), minutes(90));
  EXPECT_EQ(parse_duration("2.000s"), seconds(2));
  EXPECT_EQ(parse_duration("0.001s"), milliseconds(1));
}

TEST(UnitsDuration, RefusesSubMillisecondPrecision) {
  EXPECT_EQ(parse_duration("0.5ms"), std::nullopt);
  EXPECT_EQ(parse_duration("1.0005s"), std::nullopt);
}

TEST(UnitsDuration, RefusesMalformedLiterals) {
  for (const char* text : {"", "10", "10x", "-1s", "+1s", "s", "1.s", ".5s", "1 s", " 1s", "1s ", "1S", "1e3ms",
                           "1h30m", "10sec", "1..5s", "0x10s"})
    EXPECT_EQ(parse_duration(text), std::nullopt) << '"' << text << '"';
}

TEST(UnitsDuration, RefusesOverflow) {
  const auto max_ms = std::numeric_limits<Duration::rep>::max();
  EXPECT_EQ(parse_duration(std::to_string(max_ms) + "ms"), milliseconds(max_ms));
  EXPECT_EQ(parse_duration(std::to_string(max_ms) + "s"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999999999999999999ms"), std::nullopt);
  EXPECT_EQ(parse_duration("9999999999999999h"), std::nullopt);
}

TEST(UnitsSize, AcceptsEveryUnitAndBareBytes) {
  EXPECT_EQ(parse_size("10"), 10u);
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("512B"), 512u);
  EXPECT_EQ(parse_size("32KiB"), 32u * 1024);
  EXPECT_EQ(parse_size("10MiB"), 10u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GiB"), 1024ull * 1024 * 1024);
}

TEST(UnitsSize, AcceptsDecimalsThatAreWholeBytes) {
  EXPECT_EQ(parse_size("1.5KiB"), 1536u);
  EXPECT_EQ(parse_size("0.5MiB"), 512u * 1024);
  EXPECT_EQ(parse_size("1.5"), std::nullopt);     // 1.5 bytes
  EXPECT_EQ(parse_size("1.001KiB"), std::nullopt);  // 1025.024 bytes
}

TEST(UnitsSize, RefusesMalformedLiterals) {
  for (const char* text : {"", "10x", "-1", "-1KiB", "10KB", "10kib", "10 MiB", "10MB", "KiB", "1e3", "1,000"})
    EXPECT_EQ(parse_size(text), std::nullopt) << '"' << text << '"';
}

TEST(UnitsSize, RefusesOverflow) {
  const auto max = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(parse_size(std::to_string(max)), max);
  EXPECT_EQ(parse_size("18446744073709551616"), std::nullopt);  // 2^64
  EXPECT_EQ(parse_size("17179869184GiB"), std::nullopt);        // 2^34 GiB = 2^64 bytes
}

}  // namespace
}  // namespace lb::config
