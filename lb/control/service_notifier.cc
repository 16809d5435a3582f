#include "lb/control/service_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lb::control {

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

// sd_notify(3) sends on a blocking socket: when the receiver stops reading
// (systemd busy, or a test that binds NOTIFY_SOCKET and never reads), the
// 11th datagram in its queue (net.unix.max_dgram_qlen) blocked the control
// thread for good, and lbd hung at stop. A notification is not worth that:
// this sends without waiting, and a full queue loses the message (the next
// tick sends a fresh WATCHDOG=1 and STATUS). Paths and abstract names
// ("@...") are sent here; any other form goes to libsystemd.
bool ServiceNotifier::send_without_waiting(const std::string& message) {
  const char* where = std::getenv("NOTIFY_SOCKET");
  if (!where || !*where) return true;
  if (where[0] != '/' && where[0] != '@') return sd_notify(0, message.c_str()) >= 0;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  const size_t len = std::strlen(where);
  if (len >= sizeof sa.sun_path) return false;
  std::memcpy(sa.sun_path, where, len);
  if (where[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  const ssize_t n = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                             reinterpret_cast<const sockaddr*>(&sa), socklen_t(offsetof(sockaddr_un, sun_path) + len));
  const int err = errno;
  ::close(fd);
  if (n < 0) errno = err;
  return n == ssize_t(message.size());
}

void ServiceNotifier::send(const std::string& message) {
  if (send_without_waiting(message)) return;
  if (++lost_ == 1 || lost_ % 100 == 0)
    spdlog::warn("systemd notification lost ({} so far): {}", lost_, std::strerror(errno));
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

}  // namespace lb::control
