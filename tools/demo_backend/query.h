#pragma once
// Numeric query parameters ("/bytes?n=100").
#include <cstdint>
#include <optional>
#include <string_view>

namespace demo {

// The value of `key` in `query` ("a=1&b=2"). Absent: `fallback`. Present but
// not a decimal number in [min, max]: nullopt, so the handler answers 400.
std::optional<uint64_t> query_number(std::string_view query, std::string_view key, uint64_t fallback,
                                     uint64_t min, uint64_t max);

}  // namespace demo
