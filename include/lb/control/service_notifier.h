#pragma once
// lbd's side of systemd's notify protocol (Type=notify, sd_notify(3)), on
// the control thread: READY=1 once every listener is bound, RELOADING=1 and
// READY=1 around a reload, STOPPING=1, and STATUS= lines a person reads in
// `systemctl status lbd`. With WatchdogSec= it sends WATCHDOG=1 at a third of
// the interval, but only while `alive` says every worker loop still turns, so a
// wedged worker gets lbd restarted instead of kept alive by a healthy
// control thread. Without NOTIFY_SOCKET every call is a cheap no-op. A send
// never waits: a receiver that stops reading costs notifications, not lbd.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "lb/core/uv_handle.h"

namespace lb::control {

class ServiceNotifier {
 public:
  // Called on every tick: returns whether all is well (WATCHDOG=1 is sent
  // only then) and may return a fresh STATUS line in `status`.
  using Tick = std::function<bool(std::string* status)>;

  explicit ServiceNotifier(uv_loop_t* loop) : loop_(loop) {}
  ~ServiceNotifier() { close(); }
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  void ready(const std::string& status);
  void reloading(const std::string& status);
  void stopping(const std::string& status);
  void status(const std::string& status);

  // Starts the periodic tick: at a third of the watchdog interval (one
  // late worker answer still leaves a ping in time) when systemd
  // asked for one, else every `status_interval_ms` while a notify socket is
  // set (STATUS= refresh only); not at all otherwise.
  void start(Tick tick, uint64_t status_interval_ms = 5000);
  uint64_t watchdog_usec() const { return watchdog_usec_; }
  void close() { timer_.close(); }

 private:
  static void on_tick(uv_timer_t* t);
  void send(const std::string& message);
  // False (errno set) when the message could not go out at once.
  static bool send_without_waiting(const std::string& message);

  uv_loop_t* loop_;
  UvHandle<uv_timer_t> timer_;
  Tick tick_;
  uint64_t watchdog_usec_ = 0;
  std::string last_status_;
  uint64_t lost_ = 0;  // notifications dropped because the receiver's queue was full
};

}  // namespace lb::control
