#pragma once
// load_report.metric on the control thread: every `interval` (with a little
// jitter) each backend of such a pool is asked for its Prometheus text at
// `path` over a fresh connection (HttpCheck in body mode, at most
// kMaxMetricsBody bytes, timeout min(interval, 1s)), and the sum of the
// named gauge's samples becomes the Backend's reported load. A failed poll
// or an unreadable report changes nothing: the last report fades after
// 3 intervals (least_load.h). One poll per backend at a time; follows
// reloads (polls restart; the reports themselves live on the Backend).
// A poll speaks to the backend as the pool's own connections do: the PROXY
// header of send_proxy_protocol first, then TLS when the pool has `tls`.
#include <uv.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lb/balance/backend.h"
#include "lb/core/uv_handle.h"
#include "lb/health/http_check.h"
#include "lb/proxy/snapshot.h"

namespace lb::health {

// A /metrics body larger than this is refused (a misconfigured path that
// serves a large file must not cost the control thread much memory).
inline constexpr size_t kMaxMetricsBody = 1 << 20;

class LoadPoller {
 public:
  explicit LoadPoller(uv_loop_t* loop);
  ~LoadPoller();
  LoadPoller(const LoadPoller&) = delete;
  LoadPoller& operator=(const LoadPoller&) = delete;

  // Polls exactly the backends of `snapshot`'s pools with a load_report.metric.
  void update(const std::shared_ptr<const proxy::Snapshot>& snapshot);
  void stop();

 private:
  struct Target {
    LoadPoller* poller = nullptr;
    std::string pool;
    std::shared_ptr<balance::Backend> backend;
    config::LoadReport report;
    config::HealthCheck request;  // path, timeout, expect 200-299
    std::string preamble;         // the pool's PROXY header, or ""
    CheckTls tls;                 // context null: plain text
    UvHandle<uv_timer_t> timer;
    HttpCheck* running = nullptr;
    ~Target();
  };

  void schedule(Target& t, Duration delay);
  void poll(Target& t);
  void on_result(Target& t, const CheckOutcome& outcome);

  uv_loop_t* loop_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::mt19937_64 rng_;
};

}  // namespace lb::health
