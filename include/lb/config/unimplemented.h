#pragma once
// Keys of DESIGN.md's schema whose features this build does not have yet.
// The loader parses and validates them (so a file written for a later build
// is checked), but running with them would silently not do what the
// operator asked: `lbd --check`, start and reload refuse them by name.
#include <vector>

#include "lb/config/config.h"
#include "lb/config/loader.h"

namespace lb::config {

std::vector<ConfigError> unimplemented_features(const Config& config);

}  // namespace lb::config
