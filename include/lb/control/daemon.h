#pragma once
// The control thread (DESIGN.md §2): owns the configuration, starts the
// workers, serves the admin listener, and handles signals — SIGHUP reloads,
// SIGTERM/SIGINT stop gracefully, SIGUSR1 reopens the access log.
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "lb/admin/admin_server.h"
#include "lb/admin/status_rates.h"
#include "lb/config/config.h"
#include "lb/control/memory_trimmer.h"
#include "lb/control/service_notifier.h"
#include "lb/core/uv_handle.h"
#include "lb/discovery/dns_service.h"
#include "lb/health/health_monitor.h"
#include "lb/health/load_poller.h"
#include "lb/log/access_log.h"
#include "lb/metrics/reload_stats.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/worker.h"

namespace lb::control {

class Daemon {
 public:
  Daemon(std::string config_path, config::Config config);
  ~Daemon();
  // Binds, starts the workers, runs until stopped. Returns the exit code.
  int run();

 private:
  bool start(std::string* error);
  void reload();
  void try_reload();  // reload() minus the catch-all
  void begin_stop(const char* why);
  void reload_failed(const std::vector<std::string>& errors);
  void reopen_logs();
  void publish(std::shared_ptr<const proxy::Snapshot> next);  // a DNS member change
  bool watchdog_tick(std::string* status);
  void poll_stopped();
  std::string serving_status() const;
  uint64_t open_connections() const;
  void register_admin_routes();
  std::shared_ptr<log::AccessLogTarget> open_access_log(const config::Config& c);

  std::string config_path_;
  uv_loop_t loop_{};
  std::shared_ptr<const proxy::Snapshot> snapshot_;
  std::shared_ptr<log::AccessLogTarget> access_log_;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  // Every worker's waiting-room wake-up; outlives the workers (see ~Daemon).
  std::unique_ptr<proxy::WorkerWakers> wakers_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<health::HealthMonitor> health_;  // active checks, state changes
  std::unique_ptr<discovery::DnsService> dns_;     // host names, discovery pools
  std::unique_ptr<health::LoadPoller> load_poller_;  // load_report.metric
  std::unique_ptr<MemoryTrimmer> memory_trimmer_;
  UvHandle<uv_signal_t> sigterm_, sigint_, sighup_, sigusr1_;
  UvHandle<uv_timer_t> stop_poll_;
  ServiceNotifier notifier_{&loop_};
  bool stopping_ = false;
  std::string last_reload_error_;  // for STATUS=, empty after a good reload
  uint64_t ping_seq_ = 0;          // watchdog probes sent to the workers
  metrics::ReloadStats reload_stats_;  // lbd_config_reloads_total, /status
  admin::StatusRates status_rates_;    // /status req/s between renders
};

}  // namespace lb::control
