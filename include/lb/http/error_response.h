#pragma once
// The short responses lbd answers itself (DESIGN.md §2 "Errors").
#include <string>
#include <string_view>

namespace lb::http {

std::string_view status_reason(int status);

// A complete response: status line, text/plain body "<code> <reason>\n".
// `close` adds Connection: close (always after a framing error);
// `extra_headers` are complete "Name: value\r\n" lines (Retry-After);
// `to_head_request`: the same head, without the body.
void append_error_response(int status, bool close, std::string& out, std::string_view extra_headers = {},
                           bool to_head_request = false);

}  // namespace lb::http
