#pragma once
// Asynchronous DNS on the control thread's uv loop (DESIGN.md §2): c-ares
// does the protocol, libuv tells it when its sockets are ready (one
// uv_poll_t per socket c-ares opens) and when its retry timeout is due (one
// uv_timer_t). Nothing here blocks; answers arrive as callbacks on the loop.
#include <ares.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "lb/config/config.h"
#include "lb/core/uv_handle.h"

namespace lb::discovery {

// A host name's addresses (ports 0) and the shortest TTL among them (0 =
// none given, e.g. from /etc/hosts). `error` is empty on success.
struct HostAnswer {
  std::string error;
  std::vector<sockaddr_storage> addresses;
  std::chrono::seconds ttl{0};
  bool ok() const { return error.empty(); }
};

// A raw DNS answer (the message bytes), parsed by dns_answer.h.
struct RawAnswer {
  std::string error;
  std::vector<unsigned char> bytes;
  bool ok() const { return error.empty(); }
};

class Resolver {
 public:
  // Servers from `config` (empty: /etc/resolv.conf). nullptr and `error`
  // when c-ares cannot start (no resolv.conf, out of memory).
  static std::unique_ptr<Resolver> create(uv_loop_t* loop, const config::ResolverConfig& config, std::string* error);
  // Pending lookups end without their callbacks running.
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The addresses of `name` (A and AAAA; /etc/hosts first, as getaddrinfo).
  void resolve_host(const std::string& name, std::function<void(HostAnswer)> done);
  // One query of `type` (ns_t_a, ns_t_aaaa, ns_t_srv) for `name`, with the
  // search domains of resolv.conf; the answer's bytes are not parsed here.
  void query(const std::string& name, int type, std::function<void(RawAnswer)> done);

  // Lookups started and not yet answered.
  size_t pending() const { return pending_; }

 private:
  Resolver(uv_loop_t* loop) : loop_(loop) {}
  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable);
  void watch(ares_socket_t fd, bool readable, bool writable);
  void process(ares_socket_t read_fd, ares_socket_t write_fd);
  void arm_timer();

  uv_loop_t* loop_;
  ares_channel channel_ = nullptr;
  std::map<ares_socket_t, UvHandle<uv_poll_t>> polls_;
  UvHandle<uv_timer_t> timer_;
  size_t pending_ = 0;
  bool destroying_ = false;  // ares_destroy ends lookups: their callbacks must not run
};

}  // namespace lb::discovery
