#include "lb/proxy/service_notifier.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lb::proxy {

namespace {

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
}

// STATUS= is one line; a newline would start another assignment.
std::string one_line(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

void ServiceNotifier::send(const std::string& message) {
  int rc = sd_notify(0, message.c_str());
  if (rc < 0) spdlog::debug("sd_notify: {}", strerror(-rc));
}

void ServiceNotifier::ready(const std::string& status) {
  last_status_ = one_line(status);
  send("READY=1\nSTATUS=" + last_status_);
}

void ServiceNotifier::reloading(const std::string& status) {
  // MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) tell this
  // reload from an earlier one; older versions ignore it.
  last_status_ = one_line(status);
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS={}", monotonic_usec(), last_status_));
}

void ServiceNotifier::stopping(const std::string& status) {
  last_status_ = one_line(status);
  send("STOPPING=1\nSTATUS=" + last_status_);
}

void ServiceNotifier::status(const std::string& status) {
  std::string line = one_line(status);
  if (line == last_status_) return;
  last_status_ = std::move(line);
  send("STATUS=" + last_status_);
}

void ServiceNotifier::start(Tick tick, uint64_t status_interval_ms) {
  tick_ = std::move(tick);
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_usec_ = usec;
  uint64_t interval_ms;
  if (watchdog_usec_) {
    interval_ms = std::max<uint64_t>(1, watchdog_usec_ / 3000);
    spdlog::info("systemd watchdog: every {} ms", interval_ms);
  } else if (std::getenv("NOTIFY_SOCKET")) {
    interval_ms = status_interval_ms;
  } else {
    return;
  }
  timer_.init(loop_, uv_timer_init);
  timer_->data = this;
  uv_timer_start(timer_.get(), &ServiceNotifier::on_tick, interval_ms, interval_ms);
}

void ServiceNotifier::on_tick(uv_timer_t* t) {
  auto* self = static_cast<ServiceNotifier*>(t->data);
  std::string status;
  const bool alive = self->tick_(&status);
  if (!status.empty()) self->status(status);
  if (!self->watchdog_usec_) return;
  if (alive) {
    self->send("WATCHDOG=1");
  } else {
    spdlog::error("a worker loop has not answered within a third of the watchdog interval; withholding WATCHDOG=1");
  }
}

}  // namespace lb::proxy
