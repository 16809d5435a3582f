#pragma once
// A worker thread: its own uv loop, its own listening sockets, its client
// and upstream connections (DESIGN.md §2). The control thread talks to it
// only through post_snapshot() and stop(), which wake the loop with a
// uv_async_t; nothing on the request path takes a lock.
#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lb/core/deferred_free.h"
#include "lb/core/uv_handle.h"
#include "lb/log/access_log.h"
#include "lb/proxy/drained_streams.h"
#include "lb/proxy/listener.h"
#include "lb/proxy/listener_set.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/upstream_pool.h"
#include "lb/proxy/waiting_room.h"
#include "lb/proxy/worker_wakers.h"
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

  // The handle that tells this worker to look at its waiting room (another
  // worker freed a backend slot), and every worker's, for the other way
  // round. Call set_wakers before start(); `wakers` outlives the worker.
  uv_async_t* queue_wakeup() const { return queue_wakeup_.get(); }
  void set_wakers(const WorkerWakers* wakers) { waiting_->set_wakers(wakers); }

  // Binds one SO_REUSEPORT socket per listener; call before start().
  bool open_listeners(std::string* error);
  void start();

  // Thread-safe: new requests use `snapshot` from the next loop turn on.
  void post_snapshot(std::shared_ptr<const Snapshot> snapshot, std::shared_ptr<log::AccessLogTarget> access_log);
  // Thread-safe: sockets for the listeners the next snapshot adds (bound
  // on the control thread; see ListenerSet). Call before post_snapshot().
  void post_listeners(std::vector<ListeningSocket> added);
  // Log rotation: write what is batched to the old target, then use this one.
  void post_access_log(std::shared_ptr<log::AccessLogTarget> access_log);
  // Thread-safe liveness probe for the systemd watchdog: the loop answers
  // `seq` on its next turn; last_answer() is the newest seq answered.
  void ping(uint64_t seq);
  uint64_t last_answer() const { return answered_.load(std::memory_order_acquire); }
  // True once the loop has ended (graceful stop done).
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // Thread-safe: stop accepting, finish in-flight requests within `grace`.
  void stop(Duration grace);
  void join();

 private:
  static void on_async(uv_async_t* a);
  void apply_mailbox();
  void begin_stop(Duration grace);
  void check_stopped();
  void scan_streams();
  void trim_caches();
  // WorkerContext::flush_soon, before the loop blocks.
  void flush_clients();
  void install(std::shared_ptr<const Snapshot> snapshot);

  uv_loop_t loop_{};
  // First, so destroyed last: the teardown frees connections into them.
  std::unique_ptr<SlabPool> client_memory_;
  std::unique_ptr<SlabPool> upstream_memory_;
  WorkerContext ctx_;
  std::unique_ptr<DeferredFree> deferred_;
  std::unique_ptr<TimerWheel> timers_;
  UpstreamPools upstreams_;
  std::unique_ptr<log::AccessLog> access_log_;
  ListenerSet listeners_{ctx_};
  UvHandle<uv_async_t> wakeup_;
  std::unique_ptr<WaitingRoom> waiting_;
  UvHandle<uv_async_t> queue_wakeup_;  // unreferenced: never keeps the loop alive
  UvHandle<uv_timer_t> stop_timer_;
  // Every DrainedStreams::kScanEvery: ends the streams of backends that have
  // been leaving for shutdown_timeout. Unreferenced: never keeps the loop alive.
  UvHandle<uv_timer_t> stream_scan_;
  // Every second: caches give back what went unused, so a burst's memory
  // is returned when it ends. Unreferenced.
  UvHandle<uv_timer_t> trim_caches_;
  DrainedStreams drained_streams_;
  UvHandle<uv_prepare_t> before_poll_;
  std::vector<ClientConnection*> flushing_;  // flush_clients' list (kept for its capacity)
  TimePoint stop_deadline_{};
  bool streams_ended_ = false;  // at shutdown_timeout, event streams got their clean end
  std::thread thread_;
  std::atomic<uint64_t> answered_{0};
  std::atomic<bool> finished_{false};

  std::mutex mailbox_mutex_;  // control thread <-> this worker only
  std::shared_ptr<const Snapshot> mailbox_snapshot_;
  std::shared_ptr<log::AccessLogTarget> mailbox_access_log_;
  bool mailbox_has_log_ = false;
  std::vector<ListeningSocket> mailbox_listeners_;
  uint64_t mailbox_ping_ = 0;
  bool mailbox_stop_ = false;
  Duration mailbox_grace_{0};
};

}  // namespace lb::proxy
