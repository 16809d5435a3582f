#pragma once
// Duration ("250ms", "3s", "30m", "1h") and size ("512B", "32KiB", "10MiB",
// "1GiB") literals of the config file. A bare number is refused for
// durations (ambiguous) and accepted as bytes for sizes.
#include <cstdint>
#include <optional>
#include <string_view>

#include "lb/core/time.h"

namespace lb::config {

std::optional<Duration> parse_duration(std::string_view text);
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace lb::config
