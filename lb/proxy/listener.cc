#include "lb/proxy/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "lb/proxy/worker_snapshot.h"

namespace lb::proxy {

namespace {
constexpr int kBacklog = 4096;
}

int open_listening_socket(const config::Address& address, std::string* error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(address.port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, address.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(address.port);
    len = sizeof *v6;
  } else {
    *error = fmt::format("{}: not an IP address", address.text);
    return -1;
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = fmt::format("socket: {}", strerror(errno));
    return -1;
  }
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  if (ss.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, kBacklog) != 0) {
    *error = fmt::format("cannot listen on {}: {}", address.text, strerror(errno));
    ::close(fd);
    return -1;
  }
  return fd;
}

Listener::Listener(WorkerContext& worker, std::shared_ptr<ListenerIdentity> identity)
    : worker_(worker), identity_(std::move(identity)) {}

bool Listener::start(int fd, std::string* error) {
  tcp_.init(worker_.loop, uv_tcp_init);
  tcp_->data = this;
  int rc = uv_tcp_open(tcp_.get(), fd);
  if (rc == 0) rc = uv_listen(tcp_.stream(), kBacklog, &Listener::on_connection);
  if (rc != 0) {
    *error = fmt::format("listener {}: {}", identity_->name, uv_strerror(rc));
    return false;
  }
  return true;
}

void Listener::close() { tcp_.close(); }

void Listener::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  if (status != 0) {
    spdlog::warn("listener {}: accept: {}", self->identity_->name, uv_strerror(status));
    return;
  }
  const ListenerRuntime* lr = self->worker_.current->snapshot->find_listener(self->identity_->name);
  if (lr && self->identity_->state->connections.load(std::memory_order_relaxed) >= lr->config->limits.max_connections) {
    // Over limits.max_connections: accept and close at once, so the client
    // learns now instead of waiting in the backlog.
    uv_tcp_t* reject = new uv_tcp_t;
    uv_tcp_init(self->worker_.loop, reject);
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(reject)) == 0) {
      uv_tcp_close_reset(reject, [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    } else {
      uv_close(reinterpret_cast<uv_handle_t*>(reject), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    }
    return;
  }
  ClientConnection::accept_from(server, self->worker_, self->identity_);
}

}  // namespace lb::proxy
