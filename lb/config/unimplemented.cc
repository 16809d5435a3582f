#include "lb/config/unimplemented.h"

#include <string>

namespace lb::config {

std::vector<ConfigError> unimplemented_features(const Config& c) {
  std::vector<ConfigError> errors;
  auto refuse = [&](std::string path, std::string what) {
    errors.push_back({c.source_file, 0, 0, std::move(path), what + " is not implemented in this build yet"});
  };
  for (size_t i = 0; i < c.listeners.size(); ++i) {
    const ListenerConfig& l = c.listeners[i];
    const std::string at = "listeners[" + std::to_string(i) + "]";
    if (l.rate_limit.rps > 0) refuse(at + ".rate_limit", "rate limiting");
  }
  return errors;
}

}  // namespace lb::config
