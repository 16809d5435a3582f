#include "lb/config/units.h"

#include <cstdint>
#include <limits>
#include <span>

namespace lb::config {
namespace {

struct Unit {
  std::string_view suffix;
  uint64_t factor;  // base units (milliseconds or bytes) per one of these
};

constexpr Unit kDurationUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
constexpr Unit kSizeUnits[] = {{"", 1}, {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Parses "<digits>[.<digits>]<suffix>" into base units. Decimals are accepted
// ("1.5s", "1.5MiB") only when they come out to a whole number of base units,
// so the value is exact and never silently rounded ("0.5ms" is refused).
// Signs, spaces and exponents are refused.
std::optional<uint64_t> parse_scaled(std::string_view text, std::span<const Unit> units, uint64_t max) {
  size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  const std::string_view whole = text.substr(0, i);
  std::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    const size_t start = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    fraction = text.substr(start, i - start);
    if (fraction.empty()) return std::nullopt;
  }
  if (whole.empty()) return std::nullopt;

  const std::string_view suffix = text.substr(i);
  const Unit* unit = nullptr;
  for (const Unit& u : units)
    if (u.suffix == suffix) unit = &u;
  if (unit == nullptr) return std::nullopt;

  using u128 = unsigned __int128;
  u128 value = 0;
  for (char c : whole) {
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > max) return std::nullopt;
  }
  value *= unit->factor;

  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  if (fraction.size() > 18) return std::nullopt;  // finer than any unit can be exact
  u128 numerator = 0, denominator = 1;
  for (char c : fraction) {
    numerator = numerator * 10 + static_cast<unsigned>(c - '0');
    denominator *= 10;
  }
  numerator *= unit->factor;
  if (numerator % denominator != 0) return std::nullopt;
  value += numerator / denominator;

  if (value > max) return std::nullopt;
  return static_cast<uint64_t>(value);
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  constexpr auto max_ms = static_cast<uint64_t>(std::numeric_limits<Duration::rep>::max());
  auto ms = parse_scaled(text, kDurationUnits, max_ms);
  if (!ms) return std::nullopt;
  return Duration(static_cast<Duration::rep>(*ms));
}

std::optional<uint64_t> parse_size(std::string_view text) {
  return parse_scaled(text, kSizeUnits, std::numeric_limits<uint64_t>::max());
}

}  // namespace lb::config
