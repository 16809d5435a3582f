#pragma once
// The listening socket, the signal handlers and the set of open connections,
// all on one libuv loop.
#include <uv.h>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>

#include "lb/core/uv_handle.h"
#include "handlers.h"
#include "options.h"

namespace demo {

class Connection;

class Server {
 public:
  Server(uv_loop_t* loop, Options options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and installs SIGTERM/SIGINT handlers that stop the
  // server; uv_run then returns once everything is closed. On failure
  // returns the libuv error and prints why.
  int start();
  // The address actually bound (the port is chosen by the kernel for port 0).
  std::string bound_address() const;

  const Options& options() const { return options_; }
  AppState& app() { return app_; }
  // One buffer for every read: the loop is single-threaded and each read is
  // consumed (parsed or copied) before the next one.
  uv_buf_t read_buffer() { return uv_buf_init(read_buffer_.data(), read_buffer_.size()); }
  // Called by a connection once its socket is closed: frees it.
  void forget(Connection* connection);

 private:
  static void on_connection(uv_stream_t* listener, int status);
  int listen();
  int watch_signal(lb::UvHandle<uv_signal_t>& handle, int signum);
  void stop();

  uv_loop_t* loop_;
  Options options_;
  AppState app_;
  lb::UvHandle<uv_tcp_t> listener_;
  lb::UvHandle<uv_signal_t> sigterm_, sigint_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::array<char, 64 * 1024> read_buffer_;
};

}  // namespace demo
