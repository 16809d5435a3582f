#include "lb/http/error_response.h"

#include <fmt/format.h>

namespace lb::http {

std::string_view status_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

void append_error_response(int status, bool close, std::string& out, std::string_view extra_headers,
                           bool to_head_request) {
  const std::string_view reason = status_reason(status);
  const size_t body_len = 3 + 1 + reason.size() + 1;
  fmt::format_to(std::back_inserter(out),
                 "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nCache-Control: no-store\r\n{}{}\r\n",
                 status, reason, body_len, extra_headers, close ? "Connection: close\r\n" : "");
  // HEAD: the head says what a GET would get (RFC 9110 §9.3.2), nothing follows.
  if (!to_head_request) fmt::format_to(std::back_inserter(out), "{} {}\n", status, reason);
}

}  // namespace lb::http
