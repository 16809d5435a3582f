#pragma once
// The admin listener (DESIGN.md §1 "Admin listener"): a small HTTP/1.1
// server on the control thread's loop. Handlers are registered per method
// and path; the request parser is the same strict one clients get. When a
// token is configured every request must carry "Authorization: Bearer".
//
// It faces whoever can reach its port, so it has limits of its own: a
// request (head and body) must arrive within `header_timeout` of the
// connection opening or of the previous response being written, a response
// must be taken by the client within it too, and an idle keep-alive
// connection closes after it; at most `max_connections` are open at once.
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "lb/config/config.h"
#include "lb/core/time.h"
#include "lb/core/timer_wheel.h"
#include "lb/core/uv_handle.h"

namespace lb::admin {

// Not in the YAML: what an operator's tools need is far below these.
struct AdminLimits {
  Duration header_timeout{std::chrono::seconds(10)};
  // Over it the listener stops accepting, as HAProxy's maxconn does: new
  // clients wait in the kernel's backlog (a probe is served late, not
  // reset) and a flood costs the control thread nothing until a slot frees.
  size_t max_connections = 64;
};

struct AdminRequest {
  std::string method;
  std::string path;   // without the query string
  std::string query;  // after '?', may be empty
  std::string body;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  explicit AdminServer(uv_loop_t* loop, AdminLimits limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Exact path match. `prefix` routes match any path starting with `path`.
  void route(std::string method, std::string path, Handler h, bool prefix = false);
  // Empty token: no authentication.
  void set_token(std::string token) { token_ = std::move(token); }
  bool listen(const config::Address& address, std::string* error);
  // Stops accepting and closes every connection: an idle one at once, one
  // writing a response once it is written (or the client fails to take it
  // within header_timeout). The loop can then end.
  void close();
  size_t connections() const { return connections_.size(); }
  // The port bound by listen() (0 before): what port 0 became.
  uint16_t port() const;

  // Runs the handler for a request (tests and the connection code). A
  // handler that throws gets a 500; the control thread goes on.
  AdminResponse dispatch(const AdminRequest& req, std::string_view authorization) const;

 private:
  class Connection;
  struct Route {
    std::string method, path;
    Handler handler;
    bool prefix;
  };
  static void on_connection(uv_stream_t* server, int status);
  void accept_one();
  void forget(Connection* c);  // from the connection's close callback

  uv_loop_t* loop_;
  AdminLimits limits_;
  TimerWheel deadlines_;  // the connections' header/idle/send deadlines
  UvHandle<uv_tcp_t> tcp_;
  std::vector<Route> routes_;
  std::string token_;
  std::unordered_set<Connection*> connections_;
  bool accept_waiting_ = false;  // libuv holds a connection until one closes
};

}  // namespace lb::admin
