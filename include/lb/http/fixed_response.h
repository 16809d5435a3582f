#pragma once
// Responses a route answers itself (README "routes": redirect, respond),
// without a backend.
#include <string>
#include <string_view>

namespace lb::http {

// The reason phrase for `status`, 3xx redirects included.
std::string_view fixed_reason(int status);

// A complete response with `body` (Content-Length framed; HEAD gets the head
// alone). `extra_headers` are complete "Name: value\r\n" lines; `close`
// adds Connection: close.
void append_fixed_response(int status, std::string_view content_type, std::string_view body,
                           std::string_view extra_headers, bool close, bool to_head_request, std::string& out);

}  // namespace lb::http
