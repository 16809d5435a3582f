#include "lb/proxy/worker.h"

#include <malloc.h>
#include <pthread.h>

#include <spdlog/spdlog.h>

#include "lb/http2/session.h"
#include "lb/proxy/client_connection.h"
#include "lb/proxy/exchange.h"
#include "lb/proxy/upstream_connection.h"
#include "lb/proxy/worker_snapshot.h"

namespace lb::proxy {

namespace {
constexpr uint64_t kStopPollMs = 50;
// How often the caches give back what went unused (see trim_caches), and
// how much must have been freed before the allocator is asked to return
// pages to the kernel.
constexpr std::chrono::milliseconds kTrimEvery{1000};
constexpr size_t kTrimMallocAfter = 1 << 20;
}

Worker::Worker(unsigned index, uint32_t id_prefix, std::shared_ptr<const Snapshot> snapshot,
               std::shared_ptr<log::AccessLogTarget> access_log) {
  uv_loop_init(&loop_);
  ctx_.loop = &loop_;
  ctx_.index = index;
  ctx_.id_prefix = id_prefix;
  deferred_ = std::make_unique<DeferredFree>(&loop_);
  ctx_.deferred = deferred_.get();
  timers_ = std::make_unique<TimerWheel>(&loop_);
  ctx_.timers = timers_.get();
  ctx_.upstreams = &upstreams_;
  client_memory_ = std::make_unique<SlabPool>(sizeof(ClientConnection), alignof(ClientConnection));
  upstream_memory_ = std::make_unique<SlabPool>(sizeof(UpstreamConnection), alignof(UpstreamConnection));
  ctx_.client_memory = client_memory_.get();
  ctx_.upstream_memory = upstream_memory_.get();
  if (access_log) access_log_ = std::make_unique<log::AccessLog>(std::move(access_log));
  ctx_.access_log = access_log_.get();
  install(std::move(snapshot));

  wakeup_.init(&loop_, uv_async_init, &Worker::on_async);
  wakeup_->data = this;
  waiting_ = std::make_unique<WaitingRoom>(&loop_, index);
  ctx_.waiting = waiting_.get();
  queue_wakeup_.init(&loop_, uv_async_init, [](uv_async_t* a) { static_cast<WaitingRoom*>(a->data)->drain_all(); });
  queue_wakeup_->data = waiting_.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(queue_wakeup_.get()));
  // HTTP/2 output and access lines are batched per loop turn and written
  // before the loop blocks again, so a quiet proxy never sits on either.
  before_poll_.init(&loop_, uv_prepare_init);
  before_poll_->data = this;
  uv_prepare_start(before_poll_.get(), [](uv_prepare_t* p) {
    auto* self = static_cast<Worker*>(p->data);
    self->flush_clients();
    if (self->access_log_) self->access_log_->flush();
  });
  stream_scan_.init(&loop_, uv_timer_init);
  stream_scan_->data = this;
  const uint64_t every = DrainedStreams::kScanEvery.count();
  uv_timer_start(stream_scan_.get(), [](uv_timer_t* t) { static_cast<Worker*>(t->data)->scan_streams(); }, every, every);
  uv_unref(reinterpret_cast<uv_handle_t*>(stream_scan_.get()));
  trim_caches_.init(&loop_, uv_timer_init);
  trim_caches_->data = this;
  uv_timer_start(trim_caches_.get(), [](uv_timer_t* t) { static_cast<Worker*>(t->data)->trim_caches(); },
                 kTrimEvery.count(), kTrimEvery.count());
  uv_unref(reinterpret_cast<uv_handle_t*>(trim_caches_.get()));
}

Worker::~Worker() {
  join();
  // Everything was closed when the loop ended; run it once more for the
  // close callbacks of handles released during teardown.
  upstreams_.close_all();
  wakeup_.close();
  queue_wakeup_.close();
  waiting_->close();
  stop_timer_.close();
  stream_scan_.close();
  trim_caches_.close();
  before_poll_.close();
  timers_->close();
  listeners_.close_all();
  uv_run(&loop_, UV_RUN_DEFAULT);
  deferred_.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);
  timers_.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

void Worker::install(std::shared_ptr<const Snapshot> snapshot) {
  ctx_.current = WorkerSnapshot::build(std::move(snapshot));
  const Snapshot& s = *ctx_.current->snapshot;
  drained_streams_.set_current(s);
  // Idle connections to backends that left the config are closed.
  upstreams_.prune([&](const balance::Backend* b) {
    for (const PoolRuntime& p : s.pools)
      for (const auto& kept : p.backends)
        if (kept.get() == b) return true;
    return false;
  });
}

bool Worker::open_listeners(std::string* error) { return listeners_.open(*ctx_.current->snapshot, error); }

void Worker::start() {
  thread_ = std::thread([this] {
    // "lbd-worker-N" in top -H, ps -L and /proc/PID/task/*/comm.
    const std::string name = "lbd-worker-" + std::to_string(ctx_.index);
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    uv_run(&loop_, UV_RUN_DEFAULT);
    finished_.store(true, std::memory_order_release);
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::post_snapshot(std::shared_ptr<const Snapshot> snapshot,
                           std::shared_ptr<log::AccessLogTarget> access_log) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    mailbox_snapshot_ = std::move(snapshot);
    mailbox_access_log_ = std::move(access_log);
    mailbox_has_log_ = true;
  }
  uv_async_send(wakeup_.get());
}

void Worker::post_access_log(std::shared_ptr<log::AccessLogTarget> access_log) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    mailbox_access_log_ = std::move(access_log);
    mailbox_has_log_ = true;
  }
  uv_async_send(wakeup_.get());
}

void Worker::post_listeners(std::vector<ListeningSocket> added) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    for (auto& s : added) mailbox_listeners_.push_back(std::move(s));
  }
  // No wakeup: they are taken with the snapshot posted next.
}

void Worker::ping(uint64_t seq) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    mailbox_ping_ = seq;
  }
  uv_async_send(wakeup_.get());
}

void Worker::stop(Duration grace) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    mailbox_stop_ = true;
    mailbox_grace_ = grace;
  }
  uv_async_send(wakeup_.get());
}

void Worker::on_async(uv_async_t* a) { static_cast<Worker*>(a->data)->apply_mailbox(); }

void Worker::apply_mailbox() {
  std::shared_ptr<const Snapshot> snap;
  std::shared_ptr<log::AccessLogTarget> log_target;
  std::vector<ListeningSocket> added;
  bool has_log, stop;
  Duration grace;
  uint64_t ping;
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    if (mailbox_snapshot_) {  // sockets travel with the snapshot that names them
      added = std::move(mailbox_listeners_);
      mailbox_listeners_.clear();
    }
    snap = std::move(mailbox_snapshot_);
    log_target = std::move(mailbox_access_log_);
    has_log = std::exchange(mailbox_has_log_, false);
    ping = mailbox_ping_;
    stop = mailbox_stop_;
    grace = mailbox_grace_;
  }
  if (snap) {
    install(std::move(snap));
    // After install: an added listener's first connection finds its config.
    if (!ctx_.stopping) listeners_.apply(*ctx_.current->snapshot, std::move(added));
  }
  if (has_log) {
    if (access_log_) access_log_->flush();
    access_log_ = log_target ? std::make_unique<log::AccessLog>(std::move(log_target)) : nullptr;
    ctx_.access_log = access_log_.get();
  }
  if (stop && !ctx_.stopping) begin_stop(grace);
  answered_.store(ping, std::memory_order_release);
}

void Worker::begin_stop(Duration grace) {
  ctx_.stopping = true;
  listeners_.close_all();
  // Idle keep-alive clients are closed now; busy ones after their response
  // (their responses carry Connection: close from here on).
  for (ClientConnection* c = ctx_.clients; c;) {
    ClientConnection* next = c->next_client;
    c->close_if_idle();
    c = next;
  }
  stop_deadline_ = Clock::now() + grace;
  stop_timer_.init(&loop_, uv_timer_init);
  stop_timer_->data = this;
  uv_timer_start(stop_timer_.get(), [](uv_timer_t* t) { static_cast<Worker*>(t->data)->check_stopped(); }, 0,
                 kStopPollMs);
}

void Worker::scan_streams() {
  drained_streams_.scan(ctx_, Clock::now(), ctx_.current->snapshot->config->shutdown_timeout);
}

void Worker::flush_clients() {
  ctx_.flushing_clients = true;
  flushing_.swap(ctx_.flush_soon);
  // A connection closed meanwhile is still here (it is freed in its close
  // callback, after this phase) and its flush does nothing.
  for (ClientConnection* c : flushing_) c->flush_scheduled();
  flushing_.clear();
  ctx_.flushing_clients = false;
}

// The worker's caches keep what the last second used and free what sat
// unused (FreeList). free() leaves that memory in the allocator's arenas,
// in pages that other objects' fragments pin only partly; malloc_trim gives
// every whole free page back to the kernel. It locks each arena in turn, so
// it runs only once a burst's worth was freed, never under steady load.
void Worker::trim_caches() {
  const size_t freed =
      ctx_.blocks.trim() + ctx_.parsers.trim() + ctx_.write_batches.trim() + Exchange::trim_caches() +
      http2::Session::trim_caches() + ClientConnection::trim_caches() + upstreams_.trim();
  if (freed >= kTrimMallocAfter) ::malloc_trim(0);
}

void Worker::check_stopped() {
  if (ctx_.client_count > 0 && Clock::now() < stop_deadline_) return;
  if (ctx_.client_count > 0 && !streams_ended_) {
    // Streams that outlived shutdown_timeout end with "retry:" and an error
    // event (SSE) or a Close frame 1001 (WebSocket), so their clients
    // reconnect (elsewhere) at once instead of seeing a reset; a second more
    // (Tunnel::kCloseWait) lets those last bytes out.
    streams_ended_ = true;
    size_t ended = 0;
    for (ClientConnection* c = ctx_.clients; c;) {
      ClientConnection* next = c->next_client;
      // A WebSocket already closing (its backend was drained) gets its
      // second too, rather than being cut in the middle of its Close.
      if (c->end_stream_for_stop() || c->stream_closing()) ++ended;
      c = next;
    }
    if (ended > 0) {
      spdlog::warn("worker {}: shutdown_timeout reached with {} stream(s) still open; ended each cleanly (SSE: retry "
                   "and an error event; WebSocket: Close 1001)",
                   ctx_.index, ended);
      stop_deadline_ = Clock::now() + std::chrono::seconds(1);
      return;
    }
  }
  if (ctx_.client_count > 0) {
    spdlog::warn("worker {}: shutdown_timeout reached, dropping {} connections", ctx_.index, ctx_.client_count);
    for (ClientConnection* c = ctx_.clients; c;) {
      ClientConnection* next = c->next_client;
      c->abort();
      c = next;
    }
  }
  // Nothing left to serve: close the loop's own handles so uv_run returns.
  upstreams_.close_all();
  timers_->close();
  stop_timer_.close();
  stream_scan_.close();
  trim_caches_.close();
  wakeup_.close();
  before_poll_.close();
  if (access_log_) access_log_->flush();
}

}  // namespace lb::proxy
