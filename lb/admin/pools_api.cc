#include "lb/admin/pools_api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <string_view>
#include <vector>

#include "lb/balance/factory.h"
#include "lb/balance/load_report.h"

namespace lb::admin {

namespace {

using json = nlohmann::ordered_json;

constexpr const char* kJson = "application/json";

std::string iso8601(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = std::time_t(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n) + fmt::format(".{:03}Z", ms % 1000);
}

json check_config_json(const config::HealthCheck& c) {
  json expect = json::array();
  for (const auto& r : c.expect_status) expect.push_back(r.low == r.high ? json(r.low) : json(fmt::format("{}-{}", r.low, r.high)));
  return {{"path", c.path},   {"interval_ms", c.interval.count()}, {"timeout_ms", c.timeout.count()},
          {"rise", c.rise},   {"fall", c.fall},                    {"expect_status", expect},
          {"host", c.host}};
}

AdminResponse error(int status, std::string message) {
  return {status, kJson, json{{"error", std::move(message)}}.dump() + "\n"};
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

}  // namespace

json backend_json(const health::TrackedBackend& t, const config::PoolConfig& pool, TimePoint now) {
  const balance::Backend& b = *t.backend;
  json active = nullptr;
  if (t.health) {
    json history = json::array();
    for (const auto& r : t.history) {
      history.push_back({{"at", iso8601(r.at)},
                         {"result", balance::to_string(r.outcome.result)},
                         {"detail", r.outcome.detail},
                         {"took_ms", r.outcome.took.count()}});
    }
    active = {{"up", t.health->up()},
              {"health", t.health->health()},
              {"rise", t.health->rise()},
              {"fall", t.health->fall()},
              {"reason", b.active_reason()},
              {"history", std::move(history)}};
  }
  const bool ejected = b.ejected_at(now);
  const std::optional<double> reported = balance::current_report(b, pool.load_report, now);
  return {
      {"name", b.name()},
      {"address", b.address().text},
      {"weight", b.weight()},
      {"effective_weight", double(b.weight_at(now)) / double(balance::kWeightScale)},
      {"state", balance::to_string(b.state_at(now))},
      {"reason", t.reason},
      {"admin_state", balance::to_string(b.admin_state())},
      {"in_flight", b.active_requests()},
      {"max_requests", b.max_requests()},
      // load_report while fresh; null without one (or stale).
      {"reported_load", reported ? json(*reported) : json(nullptr)},
      {"checks",
       {{"success", b.checks(balance::CheckResult::success)},
        {"failure", b.checks(balance::CheckResult::failure)},
        {"timeout", b.checks(balance::CheckResult::timeout)}}},
      {"active", std::move(active)},
      {"passive",
       {{"ejected", ejected},
        {"awaiting_check", ejected && b.awaiting_check()},
        {"reason", b.passive_reason()},
        {"max_fails", pool.passive.max_fails},
        {"fail_timeout_ms", pool.passive.fail_timeout.count()}}},
  };
}

json pools_json(const health::HealthMonitor& monitor) {
  json pools = json::array();
  const TimePoint now = Clock::now();
  if (const proxy::Snapshot* snap = monitor.snapshot()) {
    for (const proxy::PoolRuntime& pool : snap->pools) {
      const config::PoolConfig& pc = *pool.config;
      json backends = json::array();
      for (const auto& t : monitor.backends())
        if (t->pool == pc.name) backends.push_back(backend_json(*t, pc, now));
      pools.push_back({{"name", pc.name},
                       {"strategy", balance::strategy_name(pc.strategy)},
                       {"health_check", pc.health_check ? check_config_json(*pc.health_check) : json(nullptr)},
                       {"slow_start_ms", pc.slow_start.count()},
                       {"retries", pc.retries},
                       {"queue",
                        {{"max", pc.queue.max},
                         {"timeout_ms", pc.queue.timeout.count()},
                         {"length", pool.shared->queue.length()}}},
                       {"backends", std::move(backends)}});
    }
  }
  return {{"pools", std::move(pools)}};
}

void register_pools_api(AdminServer& server, health::HealthMonitor& monitor) {
  server.route("GET", "/api/pools", [&monitor](const AdminRequest&) {
    monitor.observe();  // log (and show the reason of) a change the tick has not seen yet
    return AdminResponse{200, kJson, pools_json(monitor).dump(2) + "\n"};
  });
  server.route(
      "POST", "/api/pools/",
      [&monitor](const AdminRequest& req) {
        // /api/pools/{pool}/backends/{backend}/{action}
        const auto parts = split_path(std::string_view(req.path).substr(std::string_view("/api/pools/").size()));
        if (parts.size() != 4 || parts[1] != "backends" || parts[0].empty() || parts[2].empty())
          return error(404, "expected POST /api/pools/{pool}/backends/{backend}/{drain|maint|ready}");
        balance::AdminState state;
        if (parts[3] == "drain") {
          state = balance::AdminState::draining;
        } else if (parts[3] == "maint") {
          state = balance::AdminState::maint;
        } else if (parts[3] == "ready") {
          state = balance::AdminState::ready;
        } else {
          return error(404, fmt::format("unknown action '{}' (valid: drain, maint, ready)", parts[3]));
        }
        health::TrackedBackend* t = monitor.find(parts[0], parts[2]);
        if (!t) return error(404, fmt::format("no backend '{}' in pool '{}'", parts[2], parts[0]));
        monitor.set_admin_state(*t, state);
        const config::PoolConfig* pc = monitor.snapshot()->config->find_pool(t->pool);
        return AdminResponse{200, kJson, backend_json(*t, *pc, Clock::now()).dump(2) + "\n"};
      },
      true);
  // PUT /api/pools/{pool}/backends/{backend} {"max_requests": N}: lasts
  // until the next reload, which sets what the file says.
  server.route(
      "PUT", "/api/pools/",
      [&monitor](const AdminRequest& req) {
        const auto parts = split_path(std::string_view(req.path).substr(std::string_view("/api/pools/").size()));
        if (parts.size() != 3 || parts[1] != "backends" || parts[0].empty() || parts[2].empty())
          return error(404, "expected PUT /api/pools/{pool}/backends/{backend}");
        health::TrackedBackend* t = monitor.find(parts[0], parts[2]);
        if (!t) return error(404, fmt::format("no backend '{}' in pool '{}'", parts[2], parts[0]));
        const json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object())
          return error(400, "expected a JSON object such as {\"max_requests\": 4}");
        for (const auto& [key, value] : body.items())
          if (key != "max_requests") return error(400, fmt::format("unknown field '{}' (valid: max_requests)", key));
        const auto it = body.find("max_requests");
        if (it == body.end()) return error(400, "max_requests is required");
        if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 1'000'000)
          return error(400, "max_requests must be an integer 0..1000000 (0 = no cap)");
        const auto n = uint32_t(it->get<int64_t>());
        t->backend->set_max_requests(n);
        spdlog::info("admin: pool {} backend {}: max_requests set to {} until the next reload", t->pool,
                     t->backend->name(), n);
        const config::PoolConfig* pc = monitor.snapshot()->config->find_pool(t->pool);
        return AdminResponse{200, kJson, backend_json(*t, *pc, Clock::now()).dump(2) + "\n"};
      },
      true);
}

}  // namespace lb::admin
