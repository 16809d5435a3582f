#pragma once
// `lbd --check`: every host name in backend addresses and every discovery
// name is looked up (with the file's `resolver`), and each one that does
// not resolve is reported as FILE:LINE:COL: key.path: why. A file that
// loads but names a backend nobody can reach is not "ok".
#include <vector>

#include "lb/config/config.h"
#include "lb/config/loader.h"

namespace lb::discovery {

std::vector<config::ConfigError> check_names(const config::Config& config);

}  // namespace lb::discovery
