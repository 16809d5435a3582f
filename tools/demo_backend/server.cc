#include "server.h"

#include <csignal>
#include <cstdio>

#include "connection.h"

namespace demo {

Server::Server(uv_loop_t* loop, Options options)
    : loop_(loop),
      options_(std::move(options)),
      app_{.name = options_.name,
           .slots = Slots(options_.max_concurrent, options_.queue),
           .chat = options_.chat,
           .sessions = nullptr} {}

Server::~Server() = default;

int Server::start() {
  if (options_.redis_host.empty()) {
    app_.sessions = std::make_unique<MemorySessions>();
  } else {
    // Checked now, so a wrong address fails at start and not per request.
    auto redis = std::make_unique<RedisSessions>(options_.redis_host, options_.redis_port);
    std::string error;
    if (!redis->connect(error)) {
      std::fprintf(stderr, "lbd-demo-backend: %s\n", error.c_str());
      return UV_ECONNREFUSED;
    }
    app_.sessions = std::move(redis);
  }
  if (int rc = listen()) {
    std::fprintf(stderr, "lbd-demo-backend: cannot listen on %s:%u: %s\n", options_.host.c_str(), options_.port,
                 uv_strerror(rc));
    return rc;
  }
  if (int rc = watch_signal(sigterm_, SIGTERM)) return rc;
  return watch_signal(sigint_, SIGINT);
}

int Server::listen() {
  sockaddr_storage addr{};
  int rc = uv_ip4_addr(options_.host.c_str(), options_.port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) rc = uv_ip6_addr(options_.host.c_str(), options_.port, reinterpret_cast<sockaddr_in6*>(&addr));
  if (rc != 0) return rc;
  if ((rc = listener_.init(loop_, uv_tcp_init))) return rc;
  listener_->data = this;
  if ((rc = uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), 0))) return rc;
  return uv_listen(listener_.stream(), SOMAXCONN, on_connection);
}

std::string Server::bound_address() const {
  sockaddr_storage addr{};
  int len = sizeof addr;
  char host[64] = "?";
  if (uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return host;
  if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    uv_ip6_name(a, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&addr);
  uv_ip4_name(a, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
}

int Server::watch_signal(lb::UvHandle<uv_signal_t>& handle, int signum) {
  if (int rc = handle.init(loop_, uv_signal_init)) return rc;
  handle->data = this;
  return uv_signal_start(
      handle.get(), [](uv_signal_t* s, int) { static_cast<Server*>(s->data)->stop(); }, signum);
}

void Server::on_connection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Server*>(listener->data);
  if (status < 0) return;
  auto connection = std::make_unique<Connection>(*self);
  // On failure the unique_ptr closes the half-made handles; nothing refers to them.
  if (connection->accept(self->loop_, listener) != 0) return;
  Connection* raw = connection.get();
  self->connections_.emplace(raw, std::move(connection));
}

void Server::forget(Connection* connection) { connections_.erase(connection); }

// Closing every handle lets uv_run return; connections are freed from their
// close callbacks, so iterating here is safe.
void Server::stop() {
  listener_.close();
  sigterm_.close();
  sigint_.close();
  for (auto& [raw, connection] : connections_) raw->close();
}

}  // namespace demo
