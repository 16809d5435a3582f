#pragma once
// A worker's listening socket for one configured listener. Every worker
// binds its own socket with SO_REUSEPORT, so the kernel spreads new
// connections over the workers and no accept lock is shared (DESIGN.md §2).
#include <uv.h>

#include <memory>
#include <string>

#include "lb/config/config.h"
#include "lb/core/uv_handle.h"
#include "lb/proxy/client_connection.h"
#include "lb/proxy/worker_context.h"

namespace lb::proxy {

// Creates a bound, listening TCP socket (SO_REUSEADDR + SO_REUSEPORT).
// Returns the fd, or -1 with `error` set.
int open_listening_socket(const config::Address& address, std::string* error);

class Listener {
 public:
  Listener(WorkerContext& worker, std::shared_ptr<ListenerIdentity> identity);
  // Takes ownership of a listening fd and starts accepting.
  bool start(int fd, std::string* error);
  void close();
  const std::string& name() const { return identity_->name; }

 private:
  static void on_connection(uv_stream_t* server, int status);
  WorkerContext& worker_;
  std::shared_ptr<ListenerIdentity> identity_;
  UvHandle<uv_tcp_t> tcp_;
};

}  // namespace lb::proxy
