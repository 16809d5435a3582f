#pragma once
// Test helper: a failed load's errors as the lines lbd would print.
#include <string>
#include <vector>

#include "lb/config/loader.h"

namespace lb::config::test {

inline std::vector<std::string> messages(const LoadResult& r) {
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors) out.push_back(e.to_string());
  return out;
}

}  // namespace lb::config::test
