#pragma once
// HTTP status codes are counted by class (1xx..5xx): five series per
// backend or listener instead of one per code keeps label sets small.
#include <array>
#include <string_view>

namespace lb::metrics {

inline constexpr size_t kStatusClasses = 5;
inline constexpr std::array<std::string_view, kStatusClasses> kStatusClassNames = {"1xx", "2xx", "3xx", "4xx",
                                                                                   "5xx"};

// 100..199 -> 0, ..., 500..599 -> 4. Codes outside 100..599 (a backend may
// send 600+) count with the nearest class.
constexpr size_t status_class(int status) {
  if (status < 200) return 0;
  if (status >= 500) return 4;
  return size_t(status / 100 - 1);
}

}  // namespace lb::metrics
