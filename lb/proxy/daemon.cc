#include "lb/proxy/daemon.h"

#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>

#include <random>
#include <thread>

#include <fmt/format.h>

#include "lb/admin/status_page.h"
#include "lb/config/loader.h"
#include "lb/config/unimplemented.h"
#include "lb/log/log.h"
#include "lb/metrics/exposition.h"

namespace lb::proxy {

namespace {

unsigned worker_count(const config::Config& c) {
  if (c.workers > 0) return c.workers;
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

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
  workers_.clear();
  admin_.reset();
  sigterm_.close();
  sigint_.close();
  sighup_.close();
  sigusr1_.close();
  stop_poll_.close();
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
  admin_ = std::make_unique<admin::AdminServer>(&loop_);
  register_admin_routes();
  if (!admin_->listen(c.admin.listen, error)) return false;

  const unsigned n = worker_count(c);
  const uint32_t id_prefix = std::random_device{}();
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>(i, id_prefix, snapshot_, access_log_);
    if (!w->open_listeners(error)) return false;
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) w->start();
  return true;
}

void Daemon::register_admin_routes() {
  admin_->route("GET", "/healthz", [this](const admin::AdminRequest&) {
    if (stopping_) return admin::AdminResponse{503, "text/plain; charset=utf-8", "stopping\n"};
    return admin::AdminResponse{200, "text/plain; charset=utf-8", "ok\n"};
  });
  admin_->route("GET", "/metrics", [this](const admin::AdminRequest&) {
    return admin::AdminResponse{200, metrics::kTextContentType,
                                metrics::scrape(*snapshot_, reload_stats_, Clock::now())};
  });
  admin_->route("GET", "/status", [this](const admin::AdminRequest&) {
    const auto model = admin::collect_status(*snapshot_, reload_stats_, Clock::now(), &status_rates_);
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
  sd_notifyf(0, "READY=1\nSTATUS=serving %zu listener(s) with %zu worker(s)", c.listeners.size(), workers_.size());
  uv_run(&loop_, UV_RUN_DEFAULT);
  for (auto& w : workers_) w->join();
  spdlog::info("lbd stopped");
  return 0;
}

void Daemon::reload() {
  if (stopping_) return;
  sd_notify(0, "RELOADING=1\nSTATUS=reloading");
  spdlog::info("reloading {}", config_path_);
  config::LoadResult r = config::load_file(config_path_);
  if (r.ok()) r.errors = config::unimplemented_features(*r.config);
  if (!r.ok()) {
    for (const auto& e : r.errors) spdlog::error("reload refused: {}", e.to_string());
    reload_stats_.record(false);
    sd_notify(0, "READY=1\nSTATUS=reload failed; serving the previous configuration");
    return;
  }
  // Listener sockets are bound at start; a reload changes what they serve.
  const config::Config& old = *snapshot_->config;
  for (const auto& l : r.config->listeners) {
    const auto* same = [&]() -> const config::ListenerConfig* {
      for (const auto& o : old.listeners)
        if (o.name == l.name && o.listen.text == l.listen.text) return &o;
      return nullptr;
    }();
    if (!same) {
      spdlog::error("reload refused: listener {} ({}) is new or moved; restart lbd to change listeners", l.name,
                    l.listen.text);
      reload_stats_.record(false);
      sd_notify(0, "READY=1\nSTATUS=reload failed; serving the previous configuration");
      return;
    }
  }
  std::shared_ptr<log::AccessLogTarget> access_log;
  try {
    access_log = r.config->log.access_log == old.log.access_log ? access_log_ : open_access_log(*r.config);
  } catch (const std::exception& e) {
    spdlog::error("reload refused: {}", e.what());
    reload_stats_.record(false);
    return;
  }
  snapshot_ = build_snapshot(std::make_shared<const config::Config>(std::move(*r.config)), snapshot_.get());
  access_log_ = access_log;
  log::set_level(snapshot_->config->log.level);
  for (auto& w : workers_) w->post_snapshot(snapshot_, access_log_);
  reload_stats_.record(true);
  spdlog::info("reloaded {} (generation {})", config_path_, snapshot_->generation);
  sd_notify(0, "READY=1\nSTATUS=serving (reloaded)");
}

void Daemon::reopen_logs() {
  if (access_log_ && !access_log_->reopen()) spdlog::error("cannot reopen the access log");
  spdlog::info("log files reopened");
}

void Daemon::begin_stop(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  const Duration grace = snapshot_->config->shutdown_timeout;
  spdlog::info("{}: stopping; in-flight requests have {} ms", why, grace.count());
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  for (auto& w : workers_) w->stop(grace);
  admin_->close();
  sigterm_.close();
  sigint_.close();
  sighup_.close();
  sigusr1_.close();
  // The loop ends once every handle is closed; workers are joined in run().
}

}  // namespace lb::proxy
