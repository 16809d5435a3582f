#include "lb/http/fixed_response.h"

#include <fmt/format.h>

#include "lb/http/error_response.h"

namespace lb::http {

std::string_view fixed_reason(int status) {
  switch (status) {
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 410: return "Gone";
    case 418: return "I'm a teapot";
    default: break;
  }
  const std::string_view r = status_reason(status);
  return r == "Error" && status < 400 ? std::string_view("OK") : r;
}

void append_fixed_response(int status, std::string_view content_type, std::string_view body,
                           std::string_view extra_headers, bool close, bool to_head_request, std::string& out) {
  // 204 and 304 have no body and no Content-Length (RFC 9110 §8.6).
  const bool bodiless = status == 204 || status == 304;
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} {}\r\n", status, fixed_reason(status));
  if (!bodiless) {
    if (!body.empty()) fmt::format_to(std::back_inserter(out), "Content-Type: {}\r\n", content_type);
    fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", body.size());
  }
  out.append(extra_headers);
  if (close) out.append("Connection: close\r\n");
  out.append("\r\n");
  if (!to_head_request && !bodiless) out.append(body);
}

}  // namespace lb::http
