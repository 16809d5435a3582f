#pragma once
// The only spdlog setup: event and error logs go to stderr (journald adds
// its own timestamps under systemd) at the configured level.
#include "lb/config/config.h"

namespace lb::log {

void setup_logging();
void set_level(config::LogLevel level);

}  // namespace lb::log
