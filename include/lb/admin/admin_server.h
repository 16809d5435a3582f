#pragma once
// The admin listener (DESIGN.md §1 "Admin listener"): a small HTTP/1.1
// server on the control thread's loop. Handlers are registered per method
// and path; the request parser is the same strict one clients get. When a
// token is configured every request must carry "Authorization: Bearer".
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lb/config/config.h"
#include "lb/core/uv_handle.h"

namespace lb::admin {

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

  explicit AdminServer(uv_loop_t* loop) : loop_(loop) {}
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Exact path match. `prefix` routes match any path starting with `path`.
  void route(std::string method, std::string path, Handler h, bool prefix = false);
  // Empty token: no authentication.
  void set_token(std::string token) { token_ = std::move(token); }
  bool listen(const config::Address& address, std::string* error);
  void close();

  // Runs the handler for a request (tests and the connection code).
  AdminResponse dispatch(const AdminRequest& req, std::string_view authorization) const;

 private:
  struct Route {
    std::string method, path;
    Handler handler;
    bool prefix;
  };
  static void on_connection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  UvHandle<uv_tcp_t> tcp_;
  std::vector<Route> routes_;
  std::string token_;
};

}  // namespace lb::admin
