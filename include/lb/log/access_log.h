#pragma once
// The JSON access log: one line per request (DESIGN.md §1 log.access_log).
// Each worker owns one AccessLog and batches its lines, writing them with a
// single write(2) per loop turn (or when the batch grows large), so the
// request path takes no lock. Lines are written whole, so the workers'
// batches interleave only at line boundaries (O_APPEND).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lb::log {

struct AccessRecord {
  std::string_view client;
  std::string_view method;
  std::string_view path;
  std::string_view protocol = "-";  // "HTTP/1.1", "HTTP/1.0", "HTTP/2.0"; "-" before a request line was read
  int status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double duration_ms = 0;
  std::string_view pool = "-";
  std::string_view backend = "-";
  double upstream_ms = -1;  // < 0: no upstream answered
  std::string_view request_id;
  std::string_view listener;
  // The backend cut a streamed response and lbd ended it with an error
  // event (written as "interrupted":true; absent otherwise).
  bool interrupted = false;
  std::string_view route = "-";  // the route's name or index; "-" before routing or when none matched
};

// Where access lines go; shared by the workers, reopened on SIGUSR1.
class AccessLogTarget {
 public:
  // "stdout" or a file path (created 0640, appended). Throws on failure.
  static std::shared_ptr<AccessLogTarget> open(const std::string& where);
  ~AccessLogTarget();
  int fd() const { return fd_; }
  bool is_file() const { return !path_.empty(); }
  // The same path opened anew (log rotation): the workers switch to it
  // through their mailboxes after writing what they batched to this one.
  // Throws on failure, like open().
  std::shared_ptr<AccessLogTarget> reopened() const { return open(path_); }

 private:
  AccessLogTarget(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;  // empty for stdout
  int fd_;
};

class AccessLog {
 public:
  explicit AccessLog(std::shared_ptr<AccessLogTarget> target) : target_(std::move(target)) {}
  ~AccessLog() { flush(); }
  void write(const AccessRecord& r);
  void flush();

 private:
  std::shared_ptr<AccessLogTarget> target_;
  std::string batch_;
};

// Appends `s` to `out` as a JSON string body (no quotes), escaping as needed.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace lb::log
