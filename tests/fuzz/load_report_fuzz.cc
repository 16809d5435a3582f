// What a backend says about its load (lb/balance/load_report.h): the input
// is a Prometheus text exposition as a backend's /metrics could serve it,
// and its first line is also tried as a load header value. What must hold:
//  - a value read is finite, within 0..kMaxReportedLoad;
//  - a header value is read only if it is a plain number (no list, no
//    sign, no garbage), and reads the same with spaces around it;
//  - the gauge of a name found with one sample equals that sample's
//    header-style reading (the two readers agree on numbers).
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "lb/balance/load_report.h"

namespace {

using namespace lb::balance;

void check_value(const std::optional<double>& v) {
  if (!v) return;
  FUZZ_CHECK(std::isfinite(*v));
  FUZZ_CHECK(*v >= 0 && *v <= kMaxReportedLoad);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string_view name : {"queue", "vllm:num_requests_waiting", "q"}) check_value(parse_prometheus_gauge(text, name));

  const std::string_view first = text.substr(0, text.find('\n'));
  const auto value = parse_load_value(first);
  check_value(value);
  if (value) {
    FUZZ_CHECK(first.find(',') == std::string_view::npos);
    FUZZ_CHECK(first.find('-') == std::string_view::npos || first.find_first_of("eE") != std::string_view::npos);
    FUZZ_CHECK(parse_load_value(" " + std::string(first) + "\t") == value);
    // "queue <value>" alone is a one-sample exposition of that value.
    FUZZ_CHECK(parse_prometheus_gauge("queue " + std::string(first) + "\n", "queue") == value);
  }
  return 0;
}
