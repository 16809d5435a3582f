#include "response.h"

#include <cstdio>
#include <ctime>

namespace demo {
namespace {

bool status_has_body(int status) { return status >= 200 && status != 204 && status != 304; }

// RFC 9110 §6.6.1: an origin server with a clock sends Date.
void append_date(std::string& out) {
  char buf[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  size_t n = std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  out.append(buf, n);
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

ResponsePlan plan_response(const Response& response, const Request& request) {
  ResponsePlan plan;
  plan.keep_alive = request.keep_alive && !response.close;
  plan.send_body = status_has_body(response.status) && !request.is_head();
  if (!status_has_body(response.status)) {
    plan.framing = Framing::none;
  } else if (!response.stream) {
    plan.framing = Framing::content_length;
    plan.content_length = response.body.size();
  } else if (response.stream_length) {
    plan.framing = Framing::content_length;
    plan.content_length = *response.stream_length;
  } else if (!request.is_http10()) {
    plan.framing = Framing::chunked;
  } else {  // an HTTP/1.0 client knows no chunked coding: the close ends the body
    plan.framing = Framing::until_close;
    plan.keep_alive = false;
  }
  return plan;
}

std::string serialize_head(const Response& response, const ResponsePlan& plan, const Request& request,
                           std::string_view backend_name) {
  std::string head;
  head.reserve(256);
  head.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  head.append(reason_phrase(response.status)).append("\r\n");
  append_date(head);
  append_header(head, "X-Backend", backend_name);
  if (status_has_body(response.status)) append_header(head, "Content-Type", response.content_type);
  if (plan.framing == Framing::content_length)
    append_header(head, "Content-Length", std::to_string(plan.content_length));
  if (plan.framing == Framing::chunked) append_header(head, "Transfer-Encoding", "chunked");
  for (const auto& [name, value] : response.extra_headers) append_header(head, name, value);
  if (!plan.keep_alive)
    append_header(head, "Connection", "close");
  else if (request.is_http10())
    append_header(head, "Connection", "keep-alive");
  head.append("\r\n");
  return head;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

std::string chunk_size_line(size_t size) {
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%zx\r\n", size);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace demo
