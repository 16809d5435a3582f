#include "lb/log/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include <fmt/format.h>

namespace lb::log {

namespace {

constexpr size_t kFlushAt = 32 * 1024;

void append_time(std::string& out) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  n += size_t(snprintf(buf + n, sizeof buf - n, ".%03ldZ", ts.tv_nsec / 1000000));
  out.append(buf, n);
}

}  // namespace

std::shared_ptr<AccessLogTarget> AccessLogTarget::open(const std::string& where) {
  if (where == "stdout") return std::shared_ptr<AccessLogTarget>(new AccessLogTarget("", STDOUT_FILENO));
  int fd = ::open(where.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open access log {}: {}", where, strerror(errno)));
  return std::shared_ptr<AccessLogTarget>(new AccessLogTarget(where, fd));
}

AccessLogTarget::~AccessLogTarget() {
  if (!path_.empty() && fd_ >= 0) ::close(fd_);
}

void append_json_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", unsigned(static_cast<unsigned char>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
}

void AccessLog::write(const AccessRecord& r) {
  std::string& b = batch_;
  b.append("{\"time\":\"");
  append_time(b);
  b.append("\",\"listener\":\"");
  append_json_escaped(b, r.listener);
  b.append("\",\"client\":\"");
  append_json_escaped(b, r.client);
  b.append("\",\"method\":\"");
  append_json_escaped(b, r.method);
  b.append("\",\"path\":\"");
  append_json_escaped(b, r.path);
  b.append("\",\"protocol\":\"");
  append_json_escaped(b, r.protocol);
  fmt::format_to(std::back_inserter(b), "\",\"status\":{},\"bytes_in\":{},\"bytes_out\":{},\"duration_ms\":{:.3f}",
                 r.status, r.bytes_in, r.bytes_out, r.duration_ms);
  b.append(",\"route\":\"");
  append_json_escaped(b, r.route);
  b.append("\",\"pool\":\"");
  append_json_escaped(b, r.pool);
  b.append("\",\"backend\":\"");
  append_json_escaped(b, r.backend);
  b.append("\",\"upstream_ms\":");
  if (r.upstream_ms < 0) {
    b.append("null");
  } else {
    fmt::format_to(std::back_inserter(b), "{:.3f}", r.upstream_ms);
  }
  b.append(",\"request_id\":\"");
  append_json_escaped(b, r.request_id);
  b.append(r.interrupted ? "\",\"interrupted\":true}\n" : "\"}\n");
  if (b.size() >= kFlushAt) flush();
}

void AccessLog::flush() {
  size_t off = 0;
  while (off < batch_.size()) {
    ssize_t n = ::write(target_->fd(), batch_.data() + off, batch_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // a full disk must not stop the proxy; the line is lost
    }
    off += size_t(n);
  }
  batch_.clear();
}

}  // namespace lb::log
