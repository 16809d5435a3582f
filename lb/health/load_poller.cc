#include "lb/health/load_poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "lb/balance/load_report.h"
#include "lb/proxy/proxy_header.h"

namespace lb::health {

namespace {

constexpr double kPollJitter = 0.05;
constexpr Duration kMaxPollTimeout = std::chrono::seconds(1);

}  // namespace

LoadPoller::Target::~Target() {
  if (running) running->cancel();
}

LoadPoller::LoadPoller(uv_loop_t* loop) : loop_(loop), rng_(std::random_device{}()) {}

LoadPoller::~LoadPoller() { stop(); }

void LoadPoller::stop() { targets_.clear(); }

void LoadPoller::update(const std::shared_ptr<const proxy::Snapshot>& snapshot) {
  targets_.clear();
  for (const proxy::PoolRuntime& pool : snapshot->pools) {
    const config::LoadReport& report = pool.config->load_report;
    if (report.metric.empty()) continue;
    for (const auto& backend : pool.backends) {
      auto t = std::make_unique<Target>();
      t->poller = this;
      t->pool = pool.config->name;
      t->backend = backend;
      t->report = report;
      t->request.path = report.path;
      t->request.timeout = std::min<Duration>(report.interval, kMaxPollTimeout);
      t->request.expect_status = {{200, 299}};
      t->preamble = proxy::check_proxy_header(pool.config->send_proxy_protocol);
      t->tls = {pool.tls, backend->address().host, backend->address().text};
      t->timer.init(loop_, uv_timer_init);
      t->timer->data = t.get();
      // The first poll right away: least_load has nothing to go on before.
      schedule(*t, Duration(0));
      targets_.push_back(std::move(t));
    }
  }
}

void LoadPoller::schedule(Target& t, Duration delay) {
  uv_timer_start(
      t.timer.get(),
      [](uv_timer_t* timer) {
        auto& target = *static_cast<Target*>(timer->data);
        target.poller->poll(target);
      },
      to_uv_ms(delay), 0);
}

void LoadPoller::poll(Target& t) {
  const double factor = std::uniform_real_distribution<double>(1 - kPollJitter, 1 + kPollJitter)(rng_);
  schedule(t, std::chrono::duration_cast<Duration>(t.report.interval * factor));
  if (t.running) return;  // the previous poll is still out: skip this turn
  Target* target = &t;
  t.running = HttpCheck::start(
      loop_, t.backend->sockaddr(), t.request, t.backend->address().text, t.preamble,
      [this, target](const CheckOutcome& outcome) { on_result(*target, outcome); },
      t.tls.context ? &t.tls : nullptr, kMaxMetricsBody);
}

void LoadPoller::on_result(Target& t, const CheckOutcome& outcome) {
  t.running = nullptr;
  if (outcome.result != balance::CheckResult::success) {
    spdlog::debug("pool {} backend {}: load report GET {}: {}", t.pool, t.backend->name(), t.report.path,
                  outcome.detail);
    return;
  }
  const auto load = balance::parse_prometheus_gauge(outcome.body, t.report.metric);
  if (!load) {
    spdlog::debug("pool {} backend {}: no valid sample of {} at {}", t.pool, t.backend->name(), t.report.metric,
                  t.report.path);
    return;
  }
  t.backend->set_reported_load(*load, Clock::now());
}

}  // namespace lb::health
