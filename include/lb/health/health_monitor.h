#pragma once
// Health on the control thread (DESIGN.md §2): runs the active checks of
// every pool that has a health_check, each backend on its own timer with a
// little jitter so checks do not fire in lockstep, feeds the results to a
// HealthState per backend and publishes up/down to the shared Backend.
// It also watches every backend's operator-visible state (up, down,
// draining, maint, ejected — passive ejections start on workers and end by
// the clock) and logs each change exactly once, with its reason. It
// follows reloads: backends carried over keep their state and history.
#include <uv.h>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "lb/balance/backend.h"
#include "lb/core/uv_handle.h"
#include "lb/health/health_state.h"
#include "lb/health/http_check.h"
#include "lb/proxy/snapshot.h"

namespace lb::health {

struct CheckRecord {
  std::chrono::system_clock::time_point at;
  CheckOutcome outcome;
};

class HealthMonitor;

// One backend of one pool as the monitor tracks it.
struct TrackedBackend {
  static constexpr size_t kHistory = 10;

  std::string pool;
  std::shared_ptr<balance::Backend> backend;
  std::optional<config::HealthCheck> check;  // this pool's active check, if any
  std::string preamble;                      // PROXY header a check starts with (send_proxy_protocol)
  CheckTls tls;                              // the pool's TLS to its backends (context null: none)
  std::optional<HealthState> health;         // present while checks run
  int consecutive = 0;                       // checks in a row with the last result
  std::deque<CheckRecord> history;           // oldest first, at most kHistory
  balance::BackendState state = balance::BackendState::up;  // as last logged
  std::string reason;                        // why it is in `state`

  // Scheduling (owned by HealthMonitor).
  HealthMonitor* monitor = nullptr;
  UvHandle<uv_timer_t> timer;
  HttpCheck* running = nullptr;
  bool due = false;  // the next check came due while one was still running

  ~TrackedBackend();
};

class HealthMonitor {
 public:
  explicit HealthMonitor(uv_loop_t* loop);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Tracks exactly the pools and backends of `snapshot` (start and reload).
  void update(std::shared_ptr<const proxy::Snapshot> snapshot);
  // Stops every check and timer (shutdown).
  void stop();

  const proxy::Snapshot* snapshot() const { return snapshot_.get(); }
  const std::vector<std::unique_ptr<TrackedBackend>>& backends() const { return tracked_; }
  TrackedBackend* find(std::string_view pool, std::string_view backend);
  const TrackedBackend* find(std::string_view pool, std::string_view backend) const;

  // The admin API's drain / maint / ready.
  void set_admin_state(TrackedBackend& t, balance::AdminState state);

  // Logs every state change since the last call (also runs on a short tick
  // for changes made elsewhere: ejections on workers, their end by time).
  void observe();

 private:
  void schedule(TrackedBackend& t, Duration delay);
  void on_timer(TrackedBackend& t);
  void run_check(TrackedBackend& t);
  void on_result(TrackedBackend& t, const CheckOutcome& outcome);
  void stop_checks(TrackedBackend& t);
  std::string reason_for(const TrackedBackend& t, balance::BackendState from, balance::BackendState to) const;
  Duration jittered(Duration interval);

  uv_loop_t* loop_;
  std::shared_ptr<const proxy::Snapshot> snapshot_;
  std::vector<std::unique_ptr<TrackedBackend>> tracked_;
  UvHandle<uv_timer_t> tick_;
  std::mt19937_64 rng_;
};

}  // namespace lb::health
