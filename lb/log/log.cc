#include "lb/log/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace lb::log {

void setup_logging() {
  auto logger = spdlog::stderr_logger_mt("lbd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
}

void set_level(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::trace: spdlog::set_level(spdlog::level::trace); break;
    case config::LogLevel::debug: spdlog::set_level(spdlog::level::debug); break;
    case config::LogLevel::info: spdlog::set_level(spdlog::level::info); break;
    case config::LogLevel::warn: spdlog::set_level(spdlog::level::warn); break;
    case config::LogLevel::error: spdlog::set_level(spdlog::level::err); break;
  }
}

}  // namespace lb::log
