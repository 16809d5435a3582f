#pragma once
// The parsed configuration: plain values, no behaviour. The loader
// (config/loader.h) is the only code that knows YAML; everything else reads
// these structs. Field names follow DESIGN.md §1 key for key.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lb/config/route.h"
#include "lb/core/time.h"

namespace lb::config {

// "host:port" split once at load time. host may be an IPv4 or IPv6 literal
// ("[::1]:80" in YAML) or a name resolved at load time.
struct Address {
  std::string host;
  uint16_t port = 0;
  std::string text;  // as written, for logs and the status page
};

struct AdminConfig {
  Address listen{"127.0.0.1", 9901, "127.0.0.1:9901"};
  std::string token_file;  // required when listen is not loopback
};

enum class LogLevel { trace, debug, info, warn, error };

struct LogConfig {
  LogLevel level = LogLevel::info;
  std::string access_log = "stdout";  // "stdout" | "off" | a file path
};

struct TlsCertificate {
  std::string cert;
  std::string key;
};

struct TlsConfig {
  std::vector<TlsCertificate> certificates;
  std::string min_version = "1.2";
};

struct ListenerTimeouts {
  Duration header{std::chrono::seconds(10)};
  Duration idle{std::chrono::seconds(60)};
  // No write progress towards the client for this long closes the
  // connection (nginx send_timeout): a client that stops reading.
  Duration send{std::chrono::seconds(60)};
};

struct ListenerLimits {
  uint64_t max_header_bytes = 32 * 1024;
  uint64_t max_body_bytes = 10 * 1024 * 1024;  // 0 = unlimited
  uint64_t max_connections = 20000;
};

// HTTP/2 towards clients (README "HTTP/2"): TLS listeners offer ALPN h2
// beside http/1.1; clear-text ones also take h2c by prior knowledge.
struct Http2Config {
  bool enabled = true;
  uint32_t max_concurrent_streams = 100;
  uint32_t initial_window = 256 * 1024;  // a stream's request-body window
};

struct RateLimit {
  double rps = 0;  // per client IP; 0 = off
  uint64_t burst = 0;
};

struct ListenerConfig {
  std::string name;
  Address listen;
  std::optional<TlsConfig> tls;
  ListenerTimeouts timeouts;
  ListenerLimits limits;
  Http2Config http2;
  RateLimit rate_limit;
  std::vector<Route> routes;
  // Every connection starts with a PROXY v1 or v2 header, else it is closed.
  bool proxy_protocol = false;
  // Peers whose PROXY header (when trusted_proxies is empty: every peer's)
  // and X-Forwarded-For entries name the client (lb/proxy/client_address.h).
  std::vector<Cidr> trusted_proxies;
};

enum class Strategy {
  round_robin,
  weighted_round_robin,
  least_connections,
  ip_hash,
  consistent_hash,
  p2c_ewma,
  least_load,
};

enum class SessionMode { none, sticky, passthrough };

struct StickyCookie {
  std::string name = "LBSTICKY";
  Duration ttl{std::chrono::minutes(30)};
  std::string secret_file;
  bool secure = false;
  bool http_only = true;
  std::string same_site = "Lax";  // Strict | Lax | None
  std::string key;  // secret_file's bytes, read and checked by the loader (mode sticky)
};

struct SessionConfig {
  SessionMode mode = SessionMode::none;
  StickyCookie cookie;
};

struct StatusRange {
  int low = 200;
  int high = 399;
};

struct HealthCheck {
  std::string path = "/healthz";
  Duration interval{std::chrono::seconds(3)};
  Duration timeout{std::chrono::seconds(1)};
  int rise = 2;
  int fall = 3;
  std::vector<StatusRange> expect_status{{200, 399}};
  std::string host;  // Host header of the check; empty = the backend address
};

struct PassiveCheck {
  int max_fails = 3;  // 0 = off
  Duration fail_timeout{std::chrono::seconds(10)};
  // Passive ejection never takes out more than this share of the pool (a
  // one-backend pool is never passively ejected).
  int max_ejected_percent = 50;
};

// The waiting room for requests when every usable backend is at its
// max_requests. max 0: no waiting, such a request is answered 503 at once.
struct PoolQueueConfig {
  uint32_t max = 0;
  Duration timeout{std::chrono::seconds(30)};
};

// Envoy's retry budget: retries in flight stay under `percent` of the
// pool's requests in flight, and at least `min_retries` are allowed.
struct RetryBudget {
  double percent = 20;
  uint32_t min_retries = 3;
};

struct PoolTimeouts {
  Duration connect{std::chrono::seconds(1)};
  Duration response{std::chrono::seconds(60)};
};

struct Keepalive {
  uint32_t max_idle = 64;  // per worker, per backend
  Duration idle_timeout{std::chrono::seconds(60)};
};

// Streamed replies (text/event-stream): keeping a silent stream alive, and
// ending one the backend cuts.
enum class OnStreamError { event, reset };
struct Streaming {
  Duration sse_heartbeat{0};  // > 0: after this much silence, ": keepalive" between events
  OnStreamError on_stream_error = OnStreamError::event;
};

// Where a value sits in the file, for checks made after loading
// (`lbd --check` resolving host names): FILE:LINE:COL: key_path.
struct Place {
  int line = 0;  // 1-based; 0 = unknown
  int column = 0;
  std::string key_path;
};

struct BackendConfig {
  std::string name;
  Address address;
  uint32_t weight = 1;  // 1..1000
  uint32_t max_requests = 0;  // in-flight cap over all workers; 0 = none
  Place address_at;
};

// PROXY protocol header lbd writes on each new connection to a backend.
enum class SendProxyProtocol { off, v1, v2 };

// TLS to the backends: present = every connection to them is TLS.
struct UpstreamTlsConfig {
  bool verify = true;
  std::string ca_file;      // empty: the system's CAs
  std::string server_name;  // SNI and the name checked; empty: the backend's host
  std::string cert;         // client certificate (mutual TLS), with key
  std::string key;
};

enum class DiscoveryType { a, aaaa, srv };

// A pool whose members come from DNS (lb/discovery): every A/AAAA address
// with `port`, or every SRV target with its own port and weight.
struct Discovery {
  std::string name;
  DiscoveryType type = DiscoveryType::a;
  uint16_t port = 0;  // A/AAAA: required; SRV: unused (each record has its port)
  Duration interval{std::chrono::seconds(5)};
  Place name_at;
};

// Top-level `resolver`: the DNS servers for backend host names and discovery.
struct ResolverConfig {
  std::vector<Address> nameservers;  // IP literals; empty = /etc/resolv.conf
  Duration timeout{std::chrono::seconds(2)};
};

// Where a backend's own idea of its load comes from (least_load, and the
// lbd_backend_reported_load gauge): a response header, a gauge polled from
// each backend's Prometheus text, or both (the latest value wins).
struct LoadReport {
  std::string header;  // e.g. X-Backend-Load; empty = off. Never forwarded to clients.
  std::string metric;  // e.g. vllm:num_requests_waiting; empty = no polling
  std::string path = "/metrics";
  Duration interval{std::chrono::seconds(1)};  // polling period; reports older than 3x fade
};

struct PoolConfig {
  std::string name;
  Strategy strategy = Strategy::round_robin;
  std::string hash_key = "client_ip";  // client_ip | uri | header:NAME | cookie:NAME
  double bounded_load = 0;             // 0 = off, else > 1
  SessionConfig session;
  std::optional<HealthCheck> health_check;  // absent = no active checks
  PassiveCheck passive;
  uint32_t retries = 2;
  PoolQueueConfig queue;
  RetryBudget retry_budget;
  std::vector<int> retry_on_status;  // e.g. 503: answers retried elsewhere before the client saw a byte
  Streaming streaming;
  Duration slow_start{0};
  PoolTimeouts timeouts;
  Keepalive keepalive;
  LoadReport load_report;
  std::vector<BackendConfig> backends;  // empty when discovery is set
  SendProxyProtocol send_proxy_protocol = SendProxyProtocol::off;
  std::optional<UpstreamTlsConfig> tls;
  Duration resolve_interval{std::chrono::seconds(30)};  // host-name addresses
  std::optional<Discovery> discovery;
};

// Worker threads lbd runs at most: explicit `workers` above it is refused
// at load, `auto` is capped to it (metrics::PerWorker has a slot per worker).
inline constexpr unsigned kMaxWorkers = 256;

struct Config {
  std::string source_file;  // path the config was read from
  unsigned workers = 0;     // 0 = auto (CPU count, at most kMaxWorkers)
  Duration shutdown_timeout{std::chrono::seconds(30)};
  AdminConfig admin;
  LogConfig log;
  std::vector<ListenerConfig> listeners;
  std::vector<PoolConfig> pools;
  ResolverConfig resolver;

  const PoolConfig* find_pool(std::string_view name) const {
    for (const auto& p : pools)
      if (p.name == name) return &p;
    return nullptr;
  }
};

}  // namespace lb::config
