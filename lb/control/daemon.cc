#include "lb/control/daemon.h"

#include <spdlog/spdlog.h>

#include <random>
#include <thread>

#include <fmt/format.h>

#include "lb/admin/pools_api.h"
#include "lb/admin/status_page.h"
#include "lb/admin/token_file.h"
#include "lb/config/loader.h"
#include "lb/control/listener_binding.h"
#include "lb/control/snapshot_builder.h"
#include "lb/log/log.h"
#include "lb/metrics/exposition.h"
#include "lb/metrics/per_worker.h"

namespace lb::control {

namespace {

unsigned worker_count(const config::Config& c) {
  return config::resolve_workers(c.workers, std::thread::hardware_concurrency());
}
static_assert(config::kMaxWorkers <= metrics::kMaxWorkers, "every worker needs its metrics slot");

template <typename Fn>
void watch_signal(uv_loop_t* loop, UvHandle<uv_signal_t>& h, int signum, void* self) {
  h.init(loop, uv_signal_init);
  h->data = self;
  uv_signal_start(h.get(), [](uv_signal_t* s, int) { Fn{}(static_cast<Daemon*>(s->data)); }, signum);
}

}  // namespace

Daemon::Daemon(std::string config_path, config::Config config) : config_path_(std::move(config_path)) {
  uv_loop_init(&loop_);
  snapshot_ = build_snapshot(std::make_shared<const config::Config>(std::move(config)), nullptr);
}

Daemon::~Daemon() {
  // Every thread ends before any worker is freed: a running worker may still
  // wake another's waiting room (WorkerWakers).
  for (auto& w : workers_) w->join();
  workers_.clear();
  admin_.reset();
  health_.reset();
  dns_.reset();
  load_poller_.reset();
  sigterm_.close();
  sigint_.close();
  sighup_.close();
  sigusr1_.close();
  stop_poll_.close();
  notifier_.close();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

std::shared_ptr<log::AccessLogTarget> Daemon::open_access_log(const config::Config& c) {
  if (c.log.access_log == "off") return nullptr;
  return log::AccessLogTarget::open(c.log.access_log);
}

bool Daemon::start(std::string* error) {
  const config::Config& c = *snapshot_->config;
  log::set_level(c.log.level);
  try {
    access_log_ = open_access_log(c);
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
  // Every name is looked up once before anything is served, so backends
  // known by name take requests from the first one (bounded by the
  // resolver's timeout); later lookups never hold the loop.
  dns_ = std::make_unique<discovery::DnsService>(
      &loop_, [this] { return snapshot_; },
      [this](std::shared_ptr<const proxy::Snapshot> next) { publish(std::move(next)); });
  if (!dns_->update(*snapshot_, error)) return false;
  while (!dns_->settled()) uv_run(&loop_, UV_RUN_ONCE);
  admin_ = std::make_unique<admin::AdminServer>(&loop_);
  health_ = std::make_unique<health::HealthMonitor>(&loop_);
  health_->update(snapshot_);
  load_poller_ = std::make_unique<health::LoadPoller>(&loop_);
  load_poller_->update(snapshot_);
  memory_trimmer_ = std::make_unique<MemoryTrimmer>(&loop_);
  if (!c.admin.token_file.empty()) {
    auto token = admin::read_token_file(c.admin.token_file, error);
    if (!token) return false;
    admin_->set_token(std::move(*token));
  }
  register_admin_routes();
  if (!admin_->listen(c.admin.listen, error)) return false;

  const unsigned n = worker_count(c);
  const uint32_t id_prefix = std::random_device{}();
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<proxy::Worker>(i, id_prefix, snapshot_, access_log_);
    if (!w->open_listeners(error)) return false;
    workers_.push_back(std::move(w));
  }
  std::vector<uv_async_t*> wakeups;
  for (auto& w : workers_) wakeups.push_back(w->queue_wakeup());
  wakers_ = std::make_unique<proxy::WorkerWakers>(std::move(wakeups));
  for (auto& w : workers_) w->set_wakers(wakers_.get());
  for (auto& w : workers_) w->start();
  return true;
}

void Daemon::register_admin_routes() {
  admin_->route("GET", "/healthz", [this](const admin::AdminRequest&) {
    if (stopping_) return admin::AdminResponse{503, "text/plain; charset=utf-8", "stopping\n"};
    return admin::AdminResponse{200, "text/plain; charset=utf-8", "ok\n"};
  });
  admin::register_pools_api(*admin_, *health_);
  admin_->route("GET", "/metrics", [this](const admin::AdminRequest&) {
    auto families = metrics::collect(*snapshot_, reload_stats_, Clock::now());
    if (auto dns = dns_->stats().family(); !dns.metric.empty()) families.push_back(std::move(dns));
    return admin::AdminResponse{200, metrics::kTextContentType, metrics::render_text(families)};
  });
  admin_->route("GET", "/status", [this](const admin::AdminRequest&) {
    const auto model = admin::collect_status(*snapshot_, reload_stats_, Clock::now(), &status_rates_, health_.get());
    return admin::AdminResponse{200, "text/html; charset=utf-8", admin::render_status_page(model)};
  });
}

int Daemon::run() {
  std::string error;
  if (!start(&error)) {
    spdlog::error("{}", error);
    for (auto& w : workers_) w->stop(Duration(0));
    workers_.clear();
    return 1;
  }
  struct OnTerm { void operator()(Daemon* d) { d->begin_stop("SIGTERM"); } };
  struct OnInt { void operator()(Daemon* d) { d->begin_stop("SIGINT"); } };
  struct OnHup { void operator()(Daemon* d) { d->reload(); } };
  struct OnUsr1 { void operator()(Daemon* d) { d->reopen_logs(); } };
  watch_signal<OnTerm>(&loop_, sigterm_, SIGTERM, this);
  watch_signal<OnInt>(&loop_, sigint_, SIGINT, this);
  watch_signal<OnHup>(&loop_, sighup_, SIGHUP, this);
  watch_signal<OnUsr1>(&loop_, sigusr1_, SIGUSR1, this);

  const config::Config& c = *snapshot_->config;
  spdlog::info("lbd {} started: {} worker(s), {} listener(s), admin on {}", LBD_VERSION, workers_.size(),
               c.listeners.size(), c.admin.listen.text);
  notifier_.ready(serving_status());
  notifier_.start([this](std::string* status) { return watchdog_tick(status); });
  uv_run(&loop_, UV_RUN_DEFAULT);
  for (auto& w : workers_) w->join();
  spdlog::info("lbd stopped");
  return 0;
}

void Daemon::reload() {
  if (stopping_) return;
  // A reload runs in a signal callback: anything escaping it would end the
  // daemon. Whatever goes wrong, the running generation keeps serving.
  try {
    try_reload();
  } catch (const std::exception& e) {
    reload_failed({fmt::format("unexpected error: {}", e.what())});
  }
}

void Daemon::try_reload() {
  notifier_.reloading("reloading " + config_path_);
  spdlog::info("reloading {}", config_path_);
  config::LoadResult r = config::load_file(config_path_);
  if (!r.ok()) {
    std::vector<std::string> errors;
    for (const auto& e : r.errors) errors.push_back(e.to_string());
    return reload_failed(errors);
  }
  // Hold the running snapshot for the whole reload: once the new one is
  // posted, a worker may drop the last other reference at any moment, and
  // `old` is still read below to log removed listeners.
  const std::shared_ptr<const proxy::Snapshot> previous = snapshot_;
  const config::Config& old = *previous->config;
  // Parts the control thread sets up once; say so rather than pretend.
  if (r.config->workers != old.workers)
    spdlog::warn("reload: workers changed; the number of worker threads changes at restart");
  if (!proxy::same_socket_address(r.config->admin.listen, old.admin.listen))
    spdlog::warn("reload: admin.listen changed; the admin listener stays on {} until restart", old.admin.listen.text);

  // Everything that can fail happens before anything changes: read the admin
  // token, bind the sockets of added listeners and open a new access log file.
  std::optional<std::string> admin_token;
  if (!r.config->admin.token_file.empty()) {
    std::string token_error;
    admin_token = admin::read_token_file(r.config->admin.token_file, &token_error);
    if (!admin_token) return reload_failed({token_error});
  }
  std::vector<std::vector<proxy::ListeningSocket>> sockets;
  std::string error;
  const auto added = added_listeners(old, *r.config);
  if (!bind_listeners(added, unsigned(workers_.size()), &sockets, &error)) return reload_failed({error});
  std::shared_ptr<log::AccessLogTarget> access_log;
  try {
    access_log = r.config->log.access_log == old.log.access_log ? access_log_ : open_access_log(*r.config);
  } catch (const std::exception& e) {
    return reload_failed({e.what()});
  }

  std::optional<PreparedSnapshot> next;
  try {  // re-reads TLS certificates; changes nothing shared
    next = prepare_snapshot(std::make_shared<const config::Config>(std::move(*r.config)), snapshot_.get());
  } catch (const tls::TlsError& e) {
    return reload_failed({e.what()});
  }
  // Nothing below can refuse the reload: from here on it takes effect.
  snapshot_ = std::move(*next).commit();
  access_log_ = access_log;
  log::set_level(snapshot_->config->log.level);
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->post_listeners(std::move(sockets[i]));
    workers_[i]->post_snapshot(snapshot_, access_log_);
  }
  health_->update(snapshot_);
  std::string dns_error;  // the running resolver stays
  if (!dns_->update(*snapshot_, &dns_error)) spdlog::error("reload: {}", dns_error);
  load_poller_->update(snapshot_);
  admin_->set_token(admin_token.value_or(""));
  reload_stats_.record(true);
  last_reload_error_.clear();
  for (const auto* l : added) spdlog::info("reload: listener {} added on {}", l->name, l->listen.text);
  for (const auto& l : old.listeners) {
    const proxy::ListenerRuntime* now = snapshot_->find_listener(l.name);
    if (!now || !proxy::same_socket_address(now->config->listen, l.listen))
      spdlog::info("reload: listener {} on {} removed; its connections finish, then close", l.name, l.listen.text);
  }
  spdlog::info("reloaded {} (generation {})", config_path_, snapshot_->generation);
  notifier_.ready(serving_status());
}

void Daemon::publish(std::shared_ptr<const proxy::Snapshot> next) {
  snapshot_ = std::move(next);
  for (auto& w : workers_) w->post_snapshot(snapshot_, access_log_);
  if (health_) health_->update(snapshot_);
}

void Daemon::reload_failed(const std::vector<std::string>& errors) {
  for (const auto& e : errors) spdlog::error("reload refused: {}", e);
  spdlog::error("reload of {} failed with {} error(s); still serving generation {}", config_path_, errors.size(),
                snapshot_->generation);
  reload_stats_.record(false);
  last_reload_error_ = errors.empty() ? "unknown error" : errors.front();
  if (errors.size() > 1) last_reload_error_ += fmt::format(" (and {} more)", errors.size() - 1);
  notifier_.ready(serving_status());
}

uint64_t Daemon::open_connections() const {
  uint64_t n = 0;
  for (const proxy::ListenerRuntime& l : snapshot_->listeners)
    n += l.state->connections.load(std::memory_order_relaxed);
  return n;
}

std::string Daemon::serving_status() const {
  const config::Config& c = *snapshot_->config;
  std::string listeners;
  for (const auto& l : c.listeners) {
    if (!listeners.empty()) listeners += ", ";
    listeners += l.name + " on " + l.listen.text;
  }
  std::string s = fmt::format("serving {} with {} worker(s); {} connection(s) open; config generation {}",
                              listeners.empty() ? "no listeners" : listeners, workers_.size(), open_connections(),
                              snapshot_->generation);
  if (!reload_stats_.last_successful) s += "; LAST RELOAD FAILED: " + last_reload_error_;
  return s;
}

bool Daemon::watchdog_tick(std::string* status) {
  if (stopping_) {
    *status = fmt::format("stopping: {} connection(s) still open", open_connections());
    return true;  // the workers are draining; poll_stopped() watches them
  }
  *status = serving_status();
  // Every worker must have answered the previous probe since the last tick.
  bool alive = true;
  for (const auto& w : workers_)
    if (w->last_answer() < ping_seq_) alive = false;
  ++ping_seq_;
  for (auto& w : workers_) w->ping(ping_seq_);
  return alive;
}

// Each worker writes the lines it batched to the old file, then takes the
// new one from its mailbox: a request logged before the signal stays in the
// rotated file (a dup2 under the workers' feet sent a batch still waiting
// for its loop turn to the new file).
void Daemon::reopen_logs() {
  if (access_log_ && access_log_->is_file()) {
    try {
      access_log_ = access_log_->reopened();
    } catch (const std::exception& e) {
      spdlog::error("cannot reopen the access log: {}", e.what());
      return;
    }
    for (auto& w : workers_) w->post_access_log(access_log_);
  }
  spdlog::info("log files reopened");
}

void Daemon::begin_stop(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  const Duration grace = snapshot_->config->shutdown_timeout;
  spdlog::info("{}: stopping; in-flight requests have {} ms", why, grace.count());
  notifier_.stopping(fmt::format("stopping: {} connection(s) open; in-flight requests have up to {} s",
                                 open_connections(), std::chrono::duration<double>(grace).count()));
  for (auto& w : workers_) w->stop(grace);
  admin_->close();
  health_->stop();
  dns_->stop();
  load_poller_->stop();
  memory_trimmer_->close();
  sigterm_.close();
  sigint_.close();
  sighup_.close();
  sigusr1_.close();
  // The loop ends once every handle is closed: the notifier's timer (which
  // keeps WATCHDOG=1 coming while workers drain) closes with stop_poll_
  // once every worker is done; workers are joined in run().
  stop_poll_.init(&loop_, uv_timer_init);
  stop_poll_->data = this;
  uv_timer_start(stop_poll_.get(), [](uv_timer_t* t) { static_cast<Daemon*>(t->data)->poll_stopped(); }, 50, 50);
}

void Daemon::poll_stopped() {
  for (const auto& w : workers_)
    if (!w->finished()) return;
  stop_poll_.close();
  notifier_.close();
}

}  // namespace lb::control
