#pragma once
// One upstream server as the balancer sees it. Identity and configured
// weight come from the config; everything that changes at run time is an
// atomic so worker threads read it without locks (DESIGN.md §2). A Backend
// is shared (shared_ptr) by every worker and survives reloads for as long as
// a pool keeps a backend of the same name and address.
#include <atomic>
#include <cstdint>
#include <string>

#include <sys/socket.h>

#include "lb/config/config.h"
#include "lb/core/time.h"
#include "lb/metrics/backend_stats.h"

namespace lb::balance {

// Operator-set state (admin API); health is tracked separately.
enum class AdminState : uint8_t { ready, draining, maint };

class Backend {
 public:
  Backend(std::string name, config::Address address, uint32_t weight);

  const std::string& name() const { return name_; }
  const config::Address& address() const { return address_; }
  // Resolved once at construction; sa_family is AF_UNSPEC if resolution failed.
  const sockaddr_storage& sockaddr() const { return sockaddr_; }

  uint32_t weight() const { return weight_.load(std::memory_order_relaxed); }
  void set_weight(uint32_t w) { weight_.store(w, std::memory_order_relaxed); }

  // May new requests be sent here? Health up, admin ready, not passively ejected.
  bool usable() const { return usable_at(Clock::now()); }
  bool usable_at(TimePoint now) const;

  // Health as decided by the active checker (true without one).
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  void set_healthy(bool up) { healthy_.store(up, std::memory_order_relaxed); }

  AdminState admin_state() const { return admin_.load(std::memory_order_relaxed); }
  void set_admin_state(AdminState s) { admin_.store(s, std::memory_order_relaxed); }

  // Passive ejection: not usable until `until`.
  void eject_until(TimePoint until);
  bool ejected_at(TimePoint now) const;

  // Passive health: failures counted in a window that starts with the
  // first failure and lasts `window`. Returns the count including this one.
  int count_failure(TimePoint now, Duration window);
  void clear_failures() {
    // Load first: the common case writes nothing to the shared cache line.
    if (fails_.load(std::memory_order_relaxed) != 0) fails_.store(0, std::memory_order_relaxed);
  }

  // In-flight requests summed over all workers.
  int active_requests() const { return active_.load(std::memory_order_relaxed); }
  void add_active(int delta) { active_.fetch_add(delta, std::memory_order_relaxed); }

  // Peak-EWMA of response time in microseconds (p2c_ewma); 0 = no sample
  // yet. Its timestamp is shared too, so every worker decays it alike.
  double latency_ewma_us() const { return ewma_us_.load(std::memory_order_relaxed); }
  TimePoint latency_updated_at() const {
    return TimePoint(std::chrono::nanoseconds(ewma_at_ns_.load(std::memory_order_relaxed)));
  }
  void set_latency_ewma_us(double v, TimePoint at) {
    ewma_us_.store(v, std::memory_order_relaxed);
    ewma_at_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count(),
                      std::memory_order_relaxed);
  }

  // Request counters and response times, per worker (lb/metrics).
  metrics::BackendStats& stats() { return stats_; }
  const metrics::BackendStats& stats() const { return stats_; }

 private:
  const std::string name_;
  const config::Address address_;
  sockaddr_storage sockaddr_{};
  std::atomic<uint32_t> weight_;
  std::atomic<bool> healthy_{true};
  std::atomic<AdminState> admin_{AdminState::ready};
  std::atomic<int64_t> ejected_until_ns_{0};  // steady-clock ns since epoch
  std::atomic<int> active_{0};
  std::atomic<int> fails_{0};
  std::atomic<int64_t> fail_window_start_ns_{0};
  std::atomic<double> ewma_us_{0};
  std::atomic<int64_t> ewma_at_ns_{0};
  metrics::BackendStats stats_;
};

}  // namespace lb::balance
