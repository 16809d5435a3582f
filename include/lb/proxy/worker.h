#pragma once
// A worker thread: its own uv loop, its own listening sockets, its client
// and upstream connections (DESIGN.md §2). The control thread talks to it
// only through post_snapshot() and stop(), which wake the loop with a
// uv_async_t; nothing on the request path takes a lock.
#include <uv.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lb/core/deferred_free.h"
#include "lb/core/uv_handle.h"
#include "lb/log/access_log.h"
#include "lb/proxy/listener.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/upstream_pool.h"
#include "lb/proxy/worker_context.h"

namespace lb::proxy {

class Worker {
 public:
  // `id_prefix` starts every request id of this process (X-Request-Id).
  Worker(unsigned index, uint32_t id_prefix, std::shared_ptr<const Snapshot> snapshot,
         std::shared_ptr<log::AccessLogTarget> access_log);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds one SO_REUSEPORT socket per listener; call before start().
  bool open_listeners(std::string* error);
  void start();

  // Thread-safe: new requests use `snapshot` from the next loop turn on.
  void post_snapshot(std::shared_ptr<const Snapshot> snapshot, std::shared_ptr<log::AccessLogTarget> access_log);
  // Thread-safe: stop accepting, finish in-flight requests within `grace`.
  void stop(Duration grace);
  void join();

 private:
  static void on_async(uv_async_t* a);
  void apply_mailbox();
  void begin_stop(Duration grace);
  void check_stopped();
  void install(std::shared_ptr<const Snapshot> snapshot);

  uv_loop_t loop_{};
  WorkerContext ctx_;
  std::unique_ptr<DeferredFree> deferred_;
  std::unique_ptr<TimerWheel> timers_;
  UpstreamPools upstreams_;
  std::unique_ptr<log::AccessLog> access_log_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  UvHandle<uv_async_t> wakeup_;
  UvHandle<uv_timer_t> stop_timer_;
  UvHandle<uv_prepare_t> flush_logs_;
  TimePoint stop_deadline_{};
  std::thread thread_;

  std::mutex mailbox_mutex_;  // control thread <-> this worker only
  std::shared_ptr<const Snapshot> mailbox_snapshot_;
  std::shared_ptr<log::AccessLogTarget> mailbox_access_log_;
  bool mailbox_has_log_ = false;
  bool mailbox_stop_ = false;
  Duration mailbox_grace_{0};
};

}  // namespace lb::proxy
