#include "lb/health/health_monitor.h"

#include "lb/proxy/proxy_header.h"

#include <utility>

#include <spdlog/spdlog.h>

#include <fmt/format.h>

namespace lb::health {

using balance::AdminState;
using balance::BackendState;
using balance::CheckResult;

namespace {

// How often ejections started on workers, or ended by the clock, are noticed.
constexpr Duration kObserveTick{100};
// Checks fire every interval x (1 +- kCheckJitter).
constexpr double kCheckJitter = 0.05;

bool same_check(const config::HealthCheck& a, const config::HealthCheck& b) {
  auto ranges_equal = [](const auto& x, const auto& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i].low != y[i].low || x[i].high != y[i].high) return false;
    return true;
  };
  return a.path == b.path && a.interval == b.interval && a.timeout == b.timeout && a.rise == b.rise &&
         a.fall == b.fall && a.host == b.host && ranges_equal(a.expect_status, b.expect_status);
}

}  // namespace

TrackedBackend::~TrackedBackend() {
  if (running) running->cancel();
}

HealthMonitor::HealthMonitor(uv_loop_t* loop) : loop_(loop), rng_(std::random_device{}()) {
  tick_.init(loop_, uv_timer_init);
  tick_->data = this;
  uv_timer_start(
      tick_.get(), [](uv_timer_t* t) { static_cast<HealthMonitor*>(t->data)->observe(); }, to_uv_ms(kObserveTick),
      to_uv_ms(kObserveTick));
}

HealthMonitor::~HealthMonitor() { stop(); }

void HealthMonitor::stop() {
  tracked_.clear();  // cancels running checks, closes their timers
  tick_.close();
}

TrackedBackend* HealthMonitor::find(std::string_view pool, std::string_view backend) {
  return const_cast<TrackedBackend*>(std::as_const(*this).find(pool, backend));
}

const TrackedBackend* HealthMonitor::find(std::string_view pool, std::string_view backend) const {
  for (const auto& t : tracked_)
    if (t->pool == pool && t->backend->name() == backend) return t.get();
  return nullptr;
}

void HealthMonitor::update(std::shared_ptr<const proxy::Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  const TimePoint now = Clock::now();
  std::vector<std::unique_ptr<TrackedBackend>> next;
  for (const proxy::PoolRuntime& pool : snapshot_->pools) {
    const config::PoolConfig& pc = *pool.config;
    for (const auto& backend : pool.backends) {
      // Carried over: the same Backend object in a pool of the same name.
      std::unique_ptr<TrackedBackend> t;
      for (auto& old : tracked_) {
        if (old && old->pool == pc.name && old->backend == backend) {
          t = std::move(old);
          break;
        }
      }
      if (!t) {
        t = std::make_unique<TrackedBackend>();
        t->pool = pc.name;
        t->backend = backend;
        t->monitor = this;
        t->state = backend->state_at(now);
        t->reason = "initial state";
      }
      TrackedBackend& tb = *t;
      if (pc.health_check) {
        const bool changed = !tb.check || !same_check(*tb.check, *pc.health_check);
        tb.check = pc.health_check;
        tb.preamble = proxy::check_proxy_header(pc.send_proxy_protocol);
        tb.tls = {pool.tls, backend->address().host, backend->address().text};
        if (!tb.health) {
          // HAProxy's default init-state: assumed up, down on a first failure.
          tb.health.emplace(tb.check->rise, tb.check->fall, backend->healthy());
          if (backend->active_reason().empty()) backend->set_active_reason("not checked yet");
          // The first check lands anywhere in the first interval, so many
          // backends do not start in step.
          schedule(tb, Duration(std::uniform_int_distribution<int64_t>(0, tb.check->interval.count())(rng_)));
        } else if (changed) {
          tb.health->reconfigure(tb.check->rise, tb.check->fall);
          if (!tb.running) schedule(tb, jittered(tb.check->interval));
        }
      } else if (tb.check) {
        // Checks removed by a reload: the backend is up until passive
        // checks say otherwise, and an ejection no longer waits for a check.
        stop_checks(tb);
        tb.check.reset();
        tb.health.reset();
        tb.consecutive = 0;
        if (!backend->healthy()) {
          backend->set_healthy(true);
          backend->mark_recovered(now);
        }
        backend->set_active_reason("checks removed by a reload");
        if (backend->awaiting_check()) backend->eject_until(backend->ejection_earliest_end());
      } else if (backend->active_reason().empty()) {
        backend->set_active_reason("no active check configured");
      }
      next.push_back(std::move(t));
    }
  }
  tracked_ = std::move(next);  // what was not carried over stops here
  observe();
}

Duration HealthMonitor::jittered(Duration interval) {
  std::uniform_real_distribution<double> factor(1 - kCheckJitter, 1 + kCheckJitter);
  return Duration(std::max<int64_t>(1, int64_t(double(interval.count()) * factor(rng_))));
}

void HealthMonitor::schedule(TrackedBackend& t, Duration delay) {
  if (!t.timer) {
    t.timer.init(loop_, uv_timer_init);
    t.timer->data = &t;
  }
  uv_timer_start(
      t.timer.get(),
      [](uv_timer_t* h) {
        auto* tb = static_cast<TrackedBackend*>(h->data);
        tb->monitor->on_timer(*tb);
      },
      to_uv_ms(delay), 0);
}

void HealthMonitor::on_timer(TrackedBackend& t) {
  if (!t.check) return;
  // Intervals run start to start; a check slower than the interval delays
  // the next one until it ends rather than overlapping it.
  schedule(t, jittered(t.check->interval));
  if (t.running) {
    t.due = true;
    return;
  }
  run_check(t);
}

void HealthMonitor::run_check(TrackedBackend& t) {
  const std::string host = t.check->host.empty() ? t.backend->address().text : t.check->host;
  TrackedBackend* tb = &t;
  t.running = HttpCheck::start(loop_, t.backend->sockaddr(), *t.check, host, t.preamble,
                               [this, tb](const CheckOutcome& outcome) { on_result(*tb, outcome); }, &t.tls);
}

void HealthMonitor::stop_checks(TrackedBackend& t) {
  if (t.running) std::exchange(t.running, nullptr)->cancel();
  t.due = false;
  t.timer.close();
}

void HealthMonitor::on_result(TrackedBackend& t, const CheckOutcome& outcome) {
  t.running = nullptr;
  balance::Backend& b = *t.backend;
  b.count_check(outcome.result);
  t.history.push_back({std::chrono::system_clock::now(), outcome});
  if (t.history.size() > TrackedBackend::kHistory) t.history.pop_front();

  const bool passed = outcome.result == CheckResult::success;
  const bool same_as_last = !t.history.empty() && t.history.size() >= 2 &&
                            (t.history[t.history.size() - 2].outcome.result == CheckResult::success) == passed;
  t.consecutive = same_as_last ? t.consecutive + 1 : 1;

  const TimePoint now = Clock::now();
  const std::string what = fmt::format("GET {}: {}", t.check->path, outcome.detail);
  switch (t.health->record(passed)) {
    case HealthState::Change::went_down:
      b.set_active_reason(fmt::format("{}; {} failed check(s) in a row", what, t.consecutive));
      b.set_healthy(false);
      break;
    case HealthState::Change::went_up:
      b.set_active_reason(fmt::format("{}; {} passed check(s) in a row", what, t.consecutive));
      b.mark_recovered(now);
      b.set_healthy(true);
      break;
    case HealthState::Change::none:
      break;
  }
  // A passive ejection in a pool with checks ends with the first pass after
  // its fail_timeout.
  if (passed && b.awaiting_check() && now >= b.ejection_earliest_end()) b.end_ejection(now);
  observe();
  if (t.due && t.check) {
    t.due = false;
    run_check(t);
  }
}

void HealthMonitor::set_admin_state(TrackedBackend& t, AdminState state) {
  balance::Backend& b = *t.backend;
  const AdminState before = b.admin_state();
  if (before == state) return;
  // Out of maint the backend takes new users again: slow start applies.
  if (before == AdminState::maint) b.mark_recovered(Clock::now());
  b.set_admin_state(state);
  observe();
}

std::string HealthMonitor::reason_for(const TrackedBackend& t, BackendState from, BackendState to) const {
  const balance::Backend& b = *t.backend;
  switch (to) {
    case BackendState::maint:
      return "set to maint through the admin API";
    case BackendState::draining:
      return "set to draining through the admin API";
    case BackendState::down:
      return "active check: " + b.active_reason();
    case BackendState::ejected:
      return "passive: " + b.passive_reason();
    case BackendState::up:
      break;
  }
  switch (from) {
    case BackendState::down:
      return "active check: " + b.active_reason();
    case BackendState::ejected:
      return t.check ? "passive: ejection over, confirmed by an active check" : "passive: ejection over";
    case BackendState::maint:
    case BackendState::draining:
      return "set to ready through the admin API";
    case BackendState::up:
      break;
  }
  return "";
}

void HealthMonitor::observe() {
  const TimePoint now = Clock::now();
  for (auto& t : tracked_) {
    const BackendState state = t->backend->state_at(now);
    if (state == t->state) continue;
    std::string reason = reason_for(*t, t->state, state);
    const auto level = state == BackendState::down || state == BackendState::ejected ? spdlog::level::warn
                                                                                      : spdlog::level::info;
    spdlog::log(level, "pool {} backend {}: {} -> {} ({})", t->pool, t->backend->name(),
                balance::to_string(t->state), balance::to_string(state), reason);
    t->state = state;
    t->reason = std::move(reason);
  }
}

}  // namespace lb::health
