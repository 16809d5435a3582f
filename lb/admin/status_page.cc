#include "lb/admin/status_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "lb/balance/factory.h"
#include "lb/balance/load_report.h"
#include "lb/http2/session.h"

namespace lb::admin {

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

void escape(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

std::string esc(std::string_view text) {
  std::string out;
  escape(out, text);
  return out;
}

std::string duration_text(double seconds, bool have) {
  if (!have) return "&ndash;";
  if (seconds < 0.001) return fmt::format("{:.2f} ms", seconds * 1e3);
  if (seconds < 1) return fmt::format("{:.1f} ms", seconds * 1e3);
  return fmt::format("{:.2f} s", seconds);
}

std::string rate_text(const std::optional<double>& rate) {
  if (!rate) return "&ndash;";
  return *rate < 10 ? fmt::format("{:.1f}", *rate) : fmt::format("{:.0f}", *rate);
}

std::string percent_text(uint64_t part, uint64_t whole) {
  if (whole == 0) return "&ndash;";
  return fmt::format("{:.1f}%", 100.0 * double(part) / double(whole));
}

// Severity of a pool at a glance: every backend up, some, or none.
const char* pool_health_class(const StatusPoolRow& p) {
  const size_t up = p.up_count();
  if (up == 0) return "bad";
  return up == p.backends.size() ? "good" : "warn";
}

constexpr const char* kStyle = R"css(
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f6f7f9;--card:#fff;
--up:#1a7f37;--down:#cf222e;--ejected:#bc4c00;--draining:#0969da;--maint:#6e7781}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline;padding:14px 24px;background:#1d2330;color:#fff}
header h1{margin:0;font-size:18px}
header .meta{color:#c4cad6;font-size:13px}
header .meta b{color:#fff;font-weight:600}
header .reload-bad{color:#ffb4b4;font-weight:600}
main{padding:16px 24px;max-width:1400px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:0 0 16px;overflow:hidden}
section h2{display:flex;gap:12px;align-items:baseline;margin:0;padding:10px 14px;font-size:15px;border-bottom:1px solid var(--line)}
section h2 .sub{color:var(--muted);font-weight:400;font-size:13px}
section h2 .count{margin-left:auto;font-size:13px;padding:2px 10px;border-radius:10px;color:#fff}
.good .count{background:var(--up)} .warn .count{background:var(--ejected)} .bad .count{background:var(--down)}
section.bad{border-color:var(--down)}
table{width:100%;border-collapse:collapse}
th,td{padding:6px 14px;text-align:right;white-space:nowrap;border-bottom:1px solid var(--line)}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);font-weight:600;background:#fafbfc}
th:first-child,td:first-child,td.text,th.text{text-align:left}
tr:last-child td{border-bottom:0}
td.reason{white-space:normal;color:var(--muted);max-width:320px}
.state{display:inline-block;min-width:72px;text-align:center;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.state-up{background:var(--up)} .state-down{background:var(--down)} .state-ejected{background:var(--ejected)}
.state-draining{background:var(--draining)} .state-maint{background:var(--maint)}
tr.row-down td,tr.row-ejected td{background:#fff5f5}
.err{color:var(--down);font-weight:600}
.foot{color:var(--muted);font-size:12px;padding:8px 14px;border-top:1px solid var(--line)}
footer{color:var(--muted);font-size:12px;padding:0 24px 16px}
)css";

void render_listeners(std::string& out, const StatusModel& m) {
  out += "<section class=\"listeners\"><h2>Listeners</h2><table><thead><tr>"
         "<th>Listener</th><th class=\"text\">Address</th><th>Connections</th><th>Accepted</th>"
         "<th>Req/s</th><th>Requests</th><th>4xx</th><th>5xx</th><th>p99</th>"
         "<th>HTTP/2 streams</th><th>HTTP/2 cut</th></tr></thead><tbody>";
  for (const StatusListenerRow& l : m.listeners) {
    out += fmt::format(
        "<tr data-listener=\"{0}\"><td><b>{0}</b></td><td class=\"text\">{1}</td><td>{2}</td><td>{3}</td>"
        "<td>{9}</td><td>{4}</td><td>{5}</td><td{6}>{7}</td><td>{8}</td>"
        "<td title=\"open now / opened\">{10} / {11}</td><td title=\"{13}\"{14}>{12}</td></tr>",
        esc(l.name), esc(l.listen), l.connections_active, l.connections_total, l.requests, l.errors_4xx,
        l.errors_5xx ? " class=\"err\"" : "", l.errors_5xx, duration_text(l.p99_seconds, l.requests > 0),
        rate_text(l.rate), l.h2_streams_active, l.h2_streams_total, l.h2_goaways,
        esc(l.h2_goaway_reasons.empty() ? "connections ended by a limit or an attack" : l.h2_goaway_reasons),
        l.h2_goaways ? " class=\"err\"" : "");
  }
  out += "</tbody></table></section>";
}

void render_routes(std::string& out, const StatusModel& m) {
  out += "<section class=\"routes\"><h2>Routes</h2><table><thead><tr>"
         "<th>Listener</th><th>Route</th><th class=\"text\">Match</th><th class=\"text\">Action</th>"
         "<th>Req/s</th><th>Requests</th></tr></thead><tbody>";
  for (const StatusRouteRow& r : m.routes) {
    out += fmt::format(
        "<tr data-route=\"{0}/{1}\"><td>{0}</td><td><b>{1}</b></td><td class=\"text\">{2}</td>"
        "<td class=\"text\">{3}</td><td>{4}</td><td>{5}</td></tr>",
        esc(r.listener), esc(r.label), esc(r.match), esc(r.action), rate_text(r.rate), r.requests);
  }
  out += "</tbody></table></section>";
}

void render_pool(std::string& out, const StatusPoolRow& p) {
  out += fmt::format(
      "<section class=\"pool {0}\" data-pool=\"{1}\"><h2>{1} <span class=\"sub\">{2}</span>"
      "<span class=\"count\">{3}/{4} up</span></h2><table><thead><tr>"
      "<th>Backend</th><th class=\"text\">Address</th><th class=\"text\">State</th><th class=\"text\">Reason</th>"
      "<th>Weight</th><th>In flight</th>{5}<th>Req/s</th><th>Requests</th><th>5xx</th><th>Error rate</th>"
      "<th>Mean</th><th>p99</th></tr></thead><tbody>",
      pool_health_class(p), esc(p.name), esc(p.strategy), p.up_count(), p.backends.size(),
      p.reports_load ? "<th>Reported load</th>" : "");
  for (const StatusBackendRow& b : p.backends) {
    const std::string_view state = metrics::state_name(b.state);
    out += fmt::format(
        "<tr class=\"row-{2}\" data-backend=\"{0}\" data-state=\"{2}\"><td><b>{0}</b></td>"
        "<td class=\"text\">{1}</td><td class=\"text\"><span class=\"state state-{2}\">{2}</span></td>"
        "<td class=\"text reason\">{3}</td><td>{4}</td><td class=\"in-flight\">{5}</td>{13}<td>{12}</td><td>{6}</td>"
        "<td{7}>{8}</td><td>{9}</td><td>{10}</td><td>{11}</td></tr>",
        esc(b.name), esc(b.address), state, esc(b.reason), b.weight,
        b.max_requests ? fmt::format("{} / {}", b.active, b.max_requests) : std::to_string(b.active), b.requests,
        b.errors ? " class=\"err\"" : "", b.errors, percent_text(b.errors, b.requests),
        duration_text(b.mean_seconds, b.timed > 0), duration_text(b.p99_seconds, b.timed > 0), rate_text(b.rate),
        !p.reports_load         ? std::string()
        : b.reported_load       ? fmt::format("<td class=\"reported-load\">{:g}</td>", *b.reported_load)
                                : std::string("<td class=\"reported-load\">&ndash;</td>"));
  }
  const std::string queue =
      p.queue_max ? fmt::format("<span class=\"queue\" data-queue-length=\"{0}\">queue: {0} / {1} waiting</span>"
                                " &middot; turned away by the queue: {2} &middot; ",
                                p.queue_length, p.queue_max, p.queue_rejected)
                  : std::string();
  out += fmt::format(
      "</tbody></table><div class=\"foot\">{}retries: {} &middot; answered 503 for want of a backend: {}</div>"
      "</section>",
      queue, p.retries, p.no_backend);
}

}  // namespace

size_t StatusPoolRow::up_count() const {
  size_t n = 0;
  for (const auto& b : backends) n += b.state == metrics::BackendState::up;
  return n;
}

static std::string describe_match(const config::Route& r) {
  std::string out;
  auto add = [&](std::string_view key, std::string_view value) {
    if (value.empty()) return;
    if (!out.empty()) out += ", ";
    out.append(key).append(" ").append(value);
  };
  add("host", r.host);
  add("path_prefix", r.path_prefix);
  add("path_exact", r.path_exact);
  add("path_regex", r.path_regex);
  std::string list;
  for (const auto& m : r.methods) list += (list.empty() ? "" : " ") + m;
  add("methods", list);
  for (const auto& h : r.headers)
    add("header", h.name + (h.kind == config::HeaderMatch::Kind::present ? std::string(" present")
                            : h.kind == config::HeaderMatch::Kind::regex ? " ~" + h.value
                                                                          : " " + h.value));
  list.clear();
  for (const auto& c : r.client_cidr) list += (list.empty() ? "" : " ") + c.text;
  add("client_cidr", list);
  return out.empty() ? "every request" : out;
}

static std::string describe_action(const config::Route& r) {
  switch (r.action) {
    case config::RouteAction::pool: return "pool " + r.pool;
    case config::RouteAction::split: {
      std::string out = "pools";
      for (size_t i = 0; i < r.pools.size(); ++i)
        out += fmt::format("{} {} {}", i ? "," : "", r.pools[i].pool, r.pools[i].weight);
      return out + " by " + r.split_by;
    }
    case config::RouteAction::redirect: return fmt::format("redirect {} {}", r.redirect.status, r.redirect.to);
    case config::RouteAction::respond: return fmt::format("respond {}", r.respond.status);
  }
  return "";
}

StatusModel collect_status(const proxy::Snapshot& snapshot, const metrics::ReloadStats& reloads, TimePoint now,
                           StatusRates* rates, const health::HealthMonitor* health) {
  // Keys with a NUL between parts: names may hold any other character.
  const auto rate_of = [&](std::string_view kind, std::string_view a, std::string_view b,
                           uint64_t count) -> std::optional<double> {
    if (!rates) return std::nullopt;
    std::string key;
    key.append(kind).push_back('\0');
    key.append(a).push_back('\0');
    key.append(b);
    return rates->rate(key, count, now);
  };
  StatusModel m;
  m.version = LBD_VERSION;
  m.generation = snapshot.generation;
  m.last_reload_ok = reloads.last_successful;
  m.reload_failures = reloads.failures;
  m.generated_at = utc_now();
  for (const proxy::ListenerRuntime& l : snapshot.listeners) {
    const metrics::ListenerTotals t = l.state->stats.totals();
    StatusListenerRow row;
    row.name = l.config->name;
    row.listen = l.config->listen.text;
    row.connections_active = l.state->connections.load(std::memory_order_relaxed);
    row.connections_total = t.connections;
    row.requests = t.request_count();
    row.errors_4xx = t.requests[metrics::status_class(400)];
    row.errors_5xx = t.requests[metrics::status_class(500)];
    row.p99_seconds = t.duration.quantile_seconds(0.99);
    row.rate = rate_of("listener", row.name, "", row.requests);
    row.h2_streams_active = std::max<int64_t>(0, l.state->h2_streams_active.load(std::memory_order_relaxed));
    row.h2_streams_total = t.h2_streams;
    for (size_t r = 0; r < http2::kGoawayReasons; ++r) {
      const auto reason = http2::GoawayReason(r);
      if (reason == http2::GoawayReason::none || reason == http2::GoawayReason::graceful ||
          reason == http2::GoawayReason::idle_timeout)
        continue;
      const uint64_t n = l.state->h2_goaway[r].load(std::memory_order_relaxed);
      if (n == 0) continue;
      row.h2_goaways += n;
      if (!row.h2_goaway_reasons.empty()) row.h2_goaway_reasons += ", ";
      row.h2_goaway_reasons += fmt::format("{}: {}", http2::goaway_reason_name(reason), n);
    }
    m.listeners.push_back(std::move(row));
    for (const proxy::CompiledRoute& r : l.routes.routes()) {
      StatusRouteRow route;
      route.listener = l.config->name;
      route.label = r.label;
      route.match = describe_match(*r.config);
      route.action = describe_action(*r.config);
      route.requests = r.stats->requests();
      route.rate = rate_of("route", route.listener, route.label, route.requests);
      m.routes.push_back(std::move(route));
    }
  }
  for (const proxy::PoolRuntime& p : snapshot.pools) {
    StatusPoolRow pool;
    pool.name = p.config->name;
    pool.strategy = balance::strategy_name(p.config->strategy);
    if (p.stats) {
      const metrics::PoolTotals t = p.stats->totals();
      pool.retries = t.retries;
      pool.no_backend = t.no_backend;
      for (uint64_t r : t.queue_rejected) pool.queue_rejected += r;
    }
    pool.queue_max = p.config->queue.max;
    pool.reports_load = balance::reports_load(p.config->load_report);
    if (p.shared) pool.queue_length = p.shared->queue.length();
    for (const auto& b : p.backends) {
      const metrics::BackendTotals t = b->stats().totals();
      StatusBackendRow row;
      row.name = b->name();
      row.address = b->address().text;
      row.state = metrics::backend_state(*b, now);
      if (const health::TrackedBackend* t = health ? health->find(pool.name, row.name) : nullptr) row.reason = t->reason;
      row.weight = b->weight();
      row.active = b->active_requests();
      row.max_requests = b->max_requests();
      row.reported_load = balance::current_report(*b, p.config->load_report, now);
      row.requests = t.requests();
      row.errors = t.errors();
      row.timed = t.response_time.count();
      row.mean_seconds = t.response_time.mean_seconds();
      row.p99_seconds = t.response_time.quantile_seconds(0.99);
      row.rate = rate_of("backend", pool.name, row.name, row.requests);
      pool.backends.push_back(std::move(row));
    }
    m.pools.push_back(std::move(pool));
  }
  if (rates) rates->prune(now, std::chrono::minutes(10));
  return m;
}

std::string render_status_page(const StatusModel& m) {
  size_t backends = 0, up = 0;
  for (const auto& p : m.pools) {
    backends += p.backends.size();
    up += p.up_count();
  }
  std::string out;
  out.reserve(4096 + backends * 600);
  out += "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">", m.refresh_seconds);
  out += "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">";
  out += fmt::format("<title>lbd status: {}/{} backends up</title><style>", up, backends);
  out += kStyle;
  out += "</style></head><body><header><h1>lbd status</h1>";
  out += fmt::format("<span class=\"meta\">backends up <b id=\"backends-up\">{}/{}</b></span>", up, backends);
  out += fmt::format("<span class=\"meta\">version <b>{}</b></span>", esc(m.version));
  out += fmt::format("<span class=\"meta\">config generation <b>{}</b></span>", m.generation);
  if (m.last_reload_ok) {
    out += "<span class=\"meta\">last reload <b>ok</b></span>";
  } else {
    out += "<span class=\"meta reload-bad\">last reload FAILED: serving the previous configuration</span>";
  }
  out += fmt::format("<span class=\"meta\">{}</span></header><main>", esc(m.generated_at));
  render_listeners(out, m);
  render_routes(out, m);
  for (const StatusPoolRow& p : m.pools) render_pool(out, p);
  out += fmt::format(
      "</main><footer>Req/s: since the previous look at this page. Other counts and latencies: since lbd "
      "started (latency: time to the backend's complete response). Refreshes every {} s. Metrics for Prometheus: <a href=\"metrics\">/metrics</a>.</footer>"
      "</body></html>\n",
      m.refresh_seconds);
  return out;
}

}  // namespace lb::admin
