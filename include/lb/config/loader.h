#pragma once
// Reads lbd's YAML file into config::Config. The only yaml-cpp user.
// Every problem is reported, not just the first, as
//   FILE:LINE:COL: key.path: message
// (line and column 1-based, pointing at the offending key or value).
#include <string>
#include <variant>
#include <vector>

#include "lb/config/config.h"

namespace lb::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is not tied to a place
  int column = 0;  // 1-based
  std::string key_path;  // e.g. "pools[0].backends[1].weight"
  std::string message;   // e.g. "must be 1..1000"

  // "FILE:LINE:COL: key.path: message"
  std::string to_string() const;
};

struct LoadResult {
  std::optional<Config> config;     // set when errors is empty
  std::vector<ConfigError> errors;  // every error found
  std::vector<ConfigError> warnings;  // loads, but likely a mistake (a route that never matches)
  bool ok() const { return errors.empty(); }
};

// Load and validate the file at `path`.
LoadResult load_file(const std::string& path);

// Load from text (tests); `file_name` is used in error messages.
LoadResult load_string(const std::string& yaml_text, const std::string& file_name);

// The worker threads to start for `workers` (0 = auto): auto is the
// `hardware_threads` reported (0 = unknown: 1), never more than kMaxWorkers.
unsigned resolve_workers(unsigned workers, unsigned hardware_threads);

}  // namespace lb::config
