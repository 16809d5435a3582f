#include "lb/admin/status_rates.h"

namespace lb::admin {

namespace {
constexpr std::chrono::seconds kMinInterval{1};
}

std::optional<double> StatusRates::rate(const std::string& key, uint64_t count, TimePoint now) {
  auto [it, inserted] = samples_.try_emplace(key);
  Sample& s = it->second;
  s.asked = now;
  if (inserted || count < s.count) {
    s.count = count;
    s.at = now;
    s.last_rate.reset();
    return std::nullopt;
  }
  if (now - s.at < kMinInterval) return s.last_rate;
  const double seconds = std::chrono::duration<double>(now - s.at).count();
  s.last_rate = double(count - s.count) / seconds;
  s.count = count;
  s.at = now;
  return s.last_rate;
}

void StatusRates::prune(TimePoint now, Duration idle) {
  std::erase_if(samples_, [&](const auto& kv) { return now - kv.second.asked > idle; });
}

}  // namespace lb::admin
