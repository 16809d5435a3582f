// A pool's `health_check:` section (active checks).
#include <charconv>

#include "lb/config/sections.h"

namespace lb::config::yaml {
namespace {

std::optional<int> parse_status(std::string_view text) {
  int code = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || code < 100 || code > 599)
    return std::nullopt;
  return code;
}

// "200" or "200-399".
std::optional<StatusRange> as_status_range(const Field& f) {
  auto text = as_string(f);
  if (!text) return std::nullopt;
  const size_t dash = text->find('-');
  auto low = parse_status(std::string_view(*text).substr(0, dash));
  auto high = dash == std::string::npos ? low : parse_status(std::string_view(*text).substr(dash + 1));
  if (low && high && *low <= *high) return StatusRange{*low, *high};
  f.error("invalid status '" + *text + "' (expected a code like 200 or a range like 200-399, within 100..599)");
  return std::nullopt;
}

// A single code, a range, or a list of them.
std::optional<std::vector<StatusRange>> as_expect_status(const Field& f) {
  std::vector<StatusRange> ranges;
  bool valid = true;
  auto add = [&](const Field& item) {
    auto range = as_status_range(item);
    valid = valid && range.has_value();
    if (range) ranges.push_back(*range);
  };
  if (f.node.IsSequence())
    for_each_item(f, Empty::refused, add);
  else
    add(f);
  if (!valid || ranges.empty()) return std::nullopt;
  return ranges;
}

}  // namespace

HealthCheck read_health_check(const Field& field) {
  HealthCheck h;
  MapReader m(field);
  auto path = assign(m.get("path"), h.path, as_string);
  if (path && !h.path.starts_with('/')) path->error("must start with '/'");
  assign(m.get("interval"), h.interval, as_positive_duration);
  assign(m.get("timeout"), h.timeout, as_positive_duration);
  assign(m.get("rise"), h.rise, integer_in(1, 1000));
  assign(m.get("fall"), h.fall, integer_in(1, 1000));
  assign(m.get("expect_status"), h.expect_status, as_expect_status);
  assign(m.get("host"), h.host, as_string);
  return h;
}

}  // namespace lb::config::yaml
