#include "query.h"

#include <charconv>

namespace demo {

std::optional<uint64_t> query_number(std::string_view query, std::string_view key, uint64_t fallback,
                                     uint64_t min, uint64_t max) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view text = pair.substr(eq + 1);
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    if (value < min || value > max) return std::nullopt;
    return value;
  }
  return fallback;
}

}  // namespace demo
