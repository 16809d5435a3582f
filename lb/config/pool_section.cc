// The `pools:` entries of the config file.
#include "lb/balance/factory.h"
#include "lb/config/sections.h"

namespace lb::config::yaml {
namespace {

constexpr Strategy kAllStrategies[] = {
    Strategy::round_robin,     Strategy::weighted_round_robin, Strategy::least_connections,
    Strategy::ip_hash,         Strategy::consistent_hash,      Strategy::p2c_ewma,
    Strategy::least_load,
};

// Unknown names are refused with the list of valid ones.
std::optional<Strategy> as_strategy(const Field& f) {
  auto text = as_string(f);
  if (!text) return std::nullopt;
  std::string valid;
  for (Strategy s : kAllStrategies) {
    const std::string name = balance::strategy_name(s);
    if (name == *text) return s;
    valid += (valid.empty() ? "" : ", ") + name;
  }
  f.error("unknown strategy '" + *text + "' (valid: " + valid + ")");
  return std::nullopt;
}

// client_ip | uri | header:NAME | cookie:NAME
std::optional<std::string> as_hash_key(const Field& f) {
  auto text = as_non_empty_string(f);
  if (!text) return std::nullopt;
  if (*text == "client_ip" || *text == "uri") return text;
  for (std::string_view prefix : {"header:", "cookie:"})
    if (text->starts_with(prefix) && is_token(std::string_view(*text).substr(prefix.size()))) return text;
  f.error("must be client_ip, uri, header:NAME or cookie:NAME");
  return std::nullopt;
}

std::optional<double> as_bounded_load(const Field& f) {
  auto value = as_number(f);
  if (value && *value != 0 && *value <= 1) {
    f.error("must be 0 (off) or greater than 1, e.g. 1.25");
    return std::nullopt;
  }
  return value;
}

std::optional<double> percent(const Field& f) {
  auto value = as_number(f);
  if (value && (*value < 0 || *value > 100)) {
    f.error("must be 0..100");
    return std::nullopt;
  }
  return value;
}

BackendConfig read_backend(const Field& field, UniqueNames& names) {
  BackendConfig b;
  MapReader m(field);
  if (auto f = assign(m.require("name"), b.name, as_non_empty_string)) names.add(b.name, *f);
  if (auto f = assign(m.require("address"), b.address, as_address)) b.address_at = place_of(*f);
  assign(m.get("weight"), b.weight, integer_in(1, 1000));
  assign(m.get("max_requests"), b.max_requests, integer_in(0, 1'000'000));
  return b;
}

}  // namespace

PoolConfig read_pool(const Field& field, FileScope& scope) {
  PoolConfig p;
  MapReader m(field);
  if (auto f = assign(m.require("name"), p.name, as_non_empty_string)) scope.pool_names.add(p.name, *f);
  const auto strategy = assign(m.get("strategy"), p.strategy, as_strategy);
  assign(m.get("hash_key"), p.hash_key, as_hash_key);
  assign(m.get("bounded_load"), p.bounded_load, as_bounded_load);
  if (auto f = m.get("session")) p.session = read_session(*f);
  if (auto f = m.get("health_check")) p.health_check = read_health_check(*f);
  if (auto f = m.get("passive")) {
    MapReader passive(*f);
    assign(passive.get("max_fails"), p.passive.max_fails, integer_in(0, 1000));
    assign(passive.get("fail_timeout"), p.passive.fail_timeout, as_positive_duration);
    assign(passive.get("max_ejected_percent"), p.passive.max_ejected_percent, integer_in(0, 100));
  }
  assign(m.get("retries"), p.retries, integer_in(0, 10));
  if (auto f = m.get("queue")) {
    MapReader q(*f);
    assign(q.get("max"), p.queue.max, integer_in(0, 1'000'000));
    assign(q.get("timeout"), p.queue.timeout, as_positive_duration);
  }
  if (auto f = m.get("retry_budget")) {
    MapReader r(*f);
    assign(r.get("percent"), p.retry_budget.percent, percent);
    assign(r.get("min_retries"), p.retry_budget.min_retries, integer_in(0, 1'000'000));
  }
  if (auto f = m.get("streaming")) {
    MapReader st(*f);
    if (auto hb = assign(st.get("sse_heartbeat"), p.streaming.sse_heartbeat, as_duration);
        hb && p.streaming.sse_heartbeat.count() > 0 && p.streaming.sse_heartbeat < std::chrono::milliseconds(100))
      hb->error("must be 0s (off) or at least 100ms");
    assign(st.get("on_stream_error"), p.streaming.on_stream_error,
           one_of<OnStreamError>({{"event", OnStreamError::event}, {"reset", OnStreamError::reset}}));
  }
  if (auto f = m.get("retry_on_status")) {
    for_each_item(*f, Empty::allowed, [&](const Field& item) {
      if (auto status = as_integer(item, 400, 599)) p.retry_on_status.push_back(int(*status));
    });
  }
  if (auto f = assign(m.get("slow_start"), p.slow_start, as_duration); f && p.slow_start.count() > 0) {
    // Slow start ramps a weight; these strategies have none to ramp (nginx
    // and HAProxy refuse it with hashing too).
    if (p.strategy == Strategy::round_robin || p.strategy == Strategy::ip_hash ||
        p.strategy == Strategy::consistent_hash)
      f->error("needs a strategy that uses weights: weighted_round_robin, least_connections, p2c_ewma or least_load");
  }
  if (auto f = m.get("timeouts")) {
    MapReader t(*f);
    assign(t.get("connect"), p.timeouts.connect, as_positive_duration);
    assign(t.get("response"), p.timeouts.response, as_positive_duration);
  }
  if (auto f = m.get("keepalive")) {
    MapReader k(*f);
    assign(k.get("max_idle"), p.keepalive.max_idle, integer_in(0, 100'000));
    assign(k.get("idle_timeout"), p.keepalive.idle_timeout, as_positive_duration);
  }
  assign(m.get("send_proxy_protocol"), p.send_proxy_protocol,
         one_of<SendProxyProtocol>({{"off", SendProxyProtocol::off}, {"v1", SendProxyProtocol::v1},
                                    {"v2", SendProxyProtocol::v2}}));
  if (auto f = m.get("tls")) p.tls = read_upstream_tls(*f);
  if (auto f = assign(m.get("resolve_interval"), p.resolve_interval, as_positive_duration);
      f && p.resolve_interval < std::chrono::seconds(1))
    f->error("must be 1s or more");
  // With discovery, DNS names the members: a `backends` list beside it
  // would be silently ignored, so it is refused.
  auto discovery = m.get("discovery");
  if (discovery) p.discovery = read_discovery(*discovery);
  if (auto f = m.get("load_report")) p.load_report = read_load_report(*f);
  // least_load without a report would be least_connections in disguise.
  if (strategy && p.strategy == Strategy::least_load && p.load_report.header.empty() && p.load_report.metric.empty())
    strategy->error("least_load needs load_report.header or load_report.metric");
  UniqueNames backend_names("backend name");
  if (auto f = discovery ? m.get("backends") : m.require("backends")) {
    if (discovery)
      f->error("a pool takes its members from either backends or discovery, not both");
    else
      for_each_item(*f, Empty::refused, [&](const Field& item) { p.backends.push_back(read_backend(item, backend_names)); });
  }
  return p;
}

}  // namespace lb::config::yaml
