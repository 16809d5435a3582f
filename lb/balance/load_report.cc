#include "lb/balance/load_report.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "lb/http/ows.h"

namespace lb::balance {

namespace {

// A decimal number ("7", "0.5", "1e3"), nothing else: from_chars accepts
// "nan" and "inf" too, refused below; it never takes '+' or hex.
std::optional<double> parse_number(std::string_view s) {
  // No sign at all: "-0" is not a load either.
  if (s.empty() || s.front() == '-') return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, std::chars_format::general);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Too large or too small to represent: huge clamps, tiny is zero.
    const bool tiny = s.find("e-") != std::string_view::npos || s.find("E-") != std::string_view::npos;
    return tiny ? 0.0 : kMaxReportedLoad;
  }
  if (ec != std::errc{} || !std::isfinite(value) || value < 0) return std::nullopt;
  return std::min(value, kMaxReportedLoad);
}

}  // namespace

std::optional<double> parse_load_value(std::string_view text) { return parse_number(http::trim_ows(text)); }

std::optional<double> parse_prometheus_gauge(std::string_view text, std::string_view name) {
  if (name.empty()) return std::nullopt;
  double sum = 0;
  bool found = false;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = http::trim_ows(line);
    if (line.empty() || line.front() == '#') continue;
    // The metric name runs up to '{', a space or a tab.
    if (!line.starts_with(name)) continue;
    std::string_view rest = line.substr(name.size());
    if (rest.empty()) return std::nullopt;  // "name" alone: no value
    if (rest.front() == '{') {
      // Skip the labels; a '}' inside a quoted label value does not end them.
      bool quoted = false, escaped = false;
      size_t i = 1;
      for (; i < rest.size(); ++i) {
        const char c = rest[i];
        if (escaped) escaped = false;
        else if (quoted && c == '\\') escaped = true;
        else if (c == '"') quoted = !quoted;
        else if (!quoted && c == '}') break;
      }
      if (i == rest.size()) return std::nullopt;  // labels never closed
      rest = rest.substr(i + 1);
    } else if (rest.front() != ' ' && rest.front() != '\t') {
      continue;  // a longer name that starts with ours (name_total)
    }
    rest = http::trim_ows(rest);
    // An optional timestamp follows the value.
    const size_t space = rest.find_first_of(" \t");
    auto value = parse_number(rest.substr(0, space));
    if (!value) return std::nullopt;
    sum = std::min(sum + *value, kMaxReportedLoad);
    found = true;
  }
  if (!found) return std::nullopt;
  return sum;
}

}  // namespace lb::balance
