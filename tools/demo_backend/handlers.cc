#include "handlers.h"

#include <strings.h>

#include <charconv>
#include <optional>
#include <memory>

#include "body_streams.h"
#include "json.h"
#include "query.h"

namespace demo {
namespace {

constexpr uint64_t kMaxIntervalMs = 60'000;
constexpr uint64_t kMaxCount = 1'000'000;

Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response bad_query(std::string_view what) { return text(400, "bad query: " + std::string(what) + "\n"); }

Response echo(const Request& req, const AppState& app) {
  std::string j = "{\"backend\":";
  append_json_string(j, app.name);
  j += ",\"method\":";
  append_json_string(j, req.method);
  j += ",\"path\":";
  append_json_string(j, req.target);
  j += ",\"version\":\"HTTP/" + std::to_string(req.version_major) + "." + std::to_string(req.version_minor) + "\"";
  j += ",\"headers\":[";
  for (size_t i = 0; i < req.headers.size(); ++i) {
    j += i ? ",[" : "[";
    append_json_string(j, req.headers[i].first);
    j += ",";
    append_json_string(j, req.headers[i].second);
    j += "]";
  }
  j += "],\"body_length\":" + std::to_string(req.body_length) + "}\n";
  Response r = text(200, std::move(j));
  r.content_type = "application/json";
  return r;
}

Response healthz(const AppState& app) { return app.healthy ? text(200, "ok") : text(503, "unhealthy"); }

Response delay(const Request& req) {
  auto ms = query_number(req.query(), "ms", 1000, 0, 3'600'000);
  if (!ms) return bad_query("ms must be 0..3600000");
  Response r = text(200, "delayed " + std::to_string(*ms) + " ms\n");
  r.delay_ms = *ms;
  return r;
}

Response bytes(const Request& req) {
  auto n = query_number(req.query(), "n", 1024, 0, uint64_t{1} << 40);
  if (!n) return bad_query("n must be 0..2^40");
  Response r;
  r.content_type = "application/octet-stream";
  r.stream = std::make_unique<ByteStream>(*n);
  r.stream_length = *n;
  return r;
}

Response chunked(const Request& req) {
  auto n = query_number(req.query(), "n", 3, 0, kMaxCount);
  auto size = query_number(req.query(), "size", 16, 1, 1 << 20);
  auto interval = query_number(req.query(), "interval_ms", 0, 0, kMaxIntervalMs);
  if (!n || !size || !interval) return bad_query("n 0..1000000, size 1..1048576, interval_ms 0..60000");
  Response r;
  r.stream = std::make_unique<LetterChunks>(*n, static_cast<size_t>(*size), *interval);
  return r;
}

Response sse(const Request& req, const AppState& app) {
  auto n = query_number(req.query(), "n", 5, 0, kMaxCount);
  auto interval = query_number(req.query(), "interval_ms", 1000, 0, kMaxIntervalMs);
  if (!n || !interval) return bad_query("n 0..1000000, interval_ms 0..60000");
  Response r;
  r.content_type = "text/event-stream";
  r.extra_headers.emplace_back("Cache-Control", "no-cache");
  r.stream = std::make_unique<SseEvents>(app.name, *n, *interval);
  return r;
}

// The first value of cookie `name` in the request's Cookie fields.
std::optional<std::string_view> request_cookie(const Request& req, std::string_view name) {
  for (const auto& [field, value] : req.headers) {
    if (field.size() != 6 || strncasecmp(field.c_str(), "cookie", 6) != 0) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.starts_with(name) && pair.size() > name.size() && pair[name.size()] == '=')
        return pair.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

Response session(const Request& req, AppState& app) {
  // Named after the store, so that apps of both kinds behind one browser
  // origin (tools/demo's :8081 and :8082) keep separate sessions.
  const std::string cookie = std::string("demo_sid_") + app.sessions->kind();
  std::string error;
  std::string id;
  if (auto c = request_cookie(req, cookie); c && valid_session_id(*c)) id = std::string(*c);
  bool fresh = id.empty();
  if (!fresh) {
    // A session this store does not know (another app's memory, expired):
    // the user starts over, as with any app that loses its sessions.
    auto known = app.sessions->exists(id, error);
    if (!known) return text(503, "session store failed: " + error + "\n");
    fresh = !*known;
  }
  if (fresh) id = new_session_id();
  auto visits = app.sessions->visit(id, error);
  if (!visits) return text(503, "session store failed: " + error + "\n");

  std::string j = "{\"backend\":";
  append_json_string(j, app.name);
  j += ",\"store\":\"" + std::string(app.sessions->kind()) + "\",\"session\":\"" + id +
       "\",\"visits\":" + std::to_string(*visits) + ",\"new\":" + (fresh ? "true" : "false") + "}\n";
  Response r = text(200, std::move(j));
  r.content_type = "application/json";
  r.extra_headers.emplace_back("Cache-Control", "no-store");
  if (fresh) r.extra_headers.emplace_back("Set-Cookie", cookie + "=" + id + "; Path=/; HttpOnly; SameSite=Lax");
  return r;
}

Response status(std::string_view code_text) {
  int code = 0;
  auto [end, ec] = std::from_chars(code_text.data(), code_text.data() + code_text.size(), code);
  if (ec != std::errc() || end != code_text.data() + code_text.size() || code < 200 || code > 599)
    return text(400, "status must be 200..599\n");
  return text(code, std::to_string(code) + " " + std::string(reason_phrase(code)) + "\n");
}

Response metrics(const AppState& app) {
  std::string m =
      "# HELP demo:num_requests_waiting Chat requests waiting in this server's queue (--queue).\n"
      "# TYPE demo:num_requests_waiting gauge\n"
      "demo:num_requests_waiting " + std::to_string(app.slots.waiting()) + "\n"
      "# HELP demo:num_requests_running Requests being served now (at most --max-concurrent).\n"
      "# TYPE demo:num_requests_running gauge\n"
      "demo:num_requests_running " + std::to_string(app.slots.in_use()) + "\n"
      "# HELP demo:requests_refused_total Requests answered 503 for want of a slot or of queue room.\n"
      "# TYPE demo:requests_refused_total counter\n"
      "demo:requests_refused_total " + std::to_string(app.slots.refused()) + "\n";
  Response r = text(200, std::move(m));
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

Response chat(const Request& req, AppState& app) {
  ChatPlan plan = app.chat;
  auto tokens = query_number(req.query(), "tokens", plan.tokens, 1, ChatPlan::kMaxTokens);
  auto interval = query_number(req.query(), "token_interval_ms", plan.token_interval_ms, 0, ChatPlan::kMaxIntervalMs);
  auto prefill = query_number(req.query(), "prefill_ms", plan.prefill_ms, 0, ChatPlan::kMaxPrefillMs);
  // kMaxTokens + 1 stands for "absent": never dies.
  auto die_after = query_number(req.query(), "die_after", ChatPlan::kMaxTokens + 1, 0, ChatPlan::kMaxTokens);
  if (!tokens || !interval || !prefill || !die_after)
    return bad_query("tokens 1..100000, token_interval_ms 0..60000, prefill_ms 0..600000, die_after 0..100000");
  plan.tokens = *tokens;
  plan.token_interval_ms = *interval;
  plan.prefill_ms = *prefill;
  if (*die_after <= ChatPlan::kMaxTokens) plan.die_after = *die_after;
  Response r;
  r.content_type = "text/event-stream";
  r.extra_headers.emplace_back("Cache-Control", "no-cache");
  r.stream = std::make_unique<ChatStream>(app.name, ++app.chat_serial, plan);
  r.waits_for_slot = true;
  return r;
}

}  // namespace

bool waits_for_slot(const Request& req) { return req.path() == "/v1/chat/completions"; }

bool takes_no_slot(const Request& req) {
  return req.path() == "/healthz" || req.path() == "/load" || req.path() == "/metrics";
}

Response route(const Request& req, AppState& app) {
  std::string_view path = req.path();
  if (path == "/echo") return echo(req, app);
  if (path == "/healthz") return healthz(app);
  if (path == "/admin/health/fail" || path == "/admin/health/ok") {
    app.healthy = path.ends_with("/ok");
    return text(200, app.healthy ? "healthz now answers 200\n" : "healthz now answers 503\n");
  }
  if (path == "/delay") return delay(req);
  if (path == "/load") {
    Response r = text(200, "{\"name\": \"" + app.name + "\", \"in_flight\": " + std::to_string(app.slots.in_use()) +
                               ", \"peak_in_flight\": " + std::to_string(app.slots.peak_in_use()) +
                               ", \"waiting\": " + std::to_string(app.slots.waiting()) +
                               ", \"busy\": " + std::to_string(app.slots.refused()) + "}\n");
    r.content_type = "application/json";
    return r;
  }
  if (path == "/metrics") return metrics(app);
  if (path == "/v1/chat/completions") return chat(req, app);
  if (path == "/bytes") return bytes(req);
  if (path == "/chunked") return chunked(req);
  if (path == "/sse") return sse(req, app);
  if (path.starts_with("/status/")) return status(path.substr(8));
  if (path == "/session") return session(req, app);
  if (path == "/ws") {  // a WebSocket handshake never gets here (Connection::parse)
    Response r = text(426, "/ws speaks WebSocket only\n");
    r.extra_headers.emplace_back("Upgrade", "websocket");
    return r;
  }
  return text(200, app.name + "\n");
}

}  // namespace demo
