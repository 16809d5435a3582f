#pragma once
// One parsed HTTP request as the handlers see it. The body is counted, not
// kept: no endpoint needs its bytes, and /echo reports only its length.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace demo {

struct Request {
  std::string method;  // as llhttp names it: "GET", "POST", ...
  std::string target;  // request-target exactly as received, query included
  unsigned version_major = 1;
  unsigned version_minor = 1;
  // Every header field in arrival order, names in the case they were sent.
  std::vector<std::pair<std::string, std::string>> headers;
  uint64_t body_length = 0;  // decoded bytes (chunked framing excluded)
  bool keep_alive = true;    // llhttp's verdict: version + Connection header

  std::string_view path() const { return std::string_view(target).substr(0, target.find('?')); }
  std::string_view query() const {
    size_t q = target.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
  }
  bool is_head() const { return method == "HEAD"; }
  bool is_http10() const { return version_major == 1 && version_minor == 0; }
};

}  // namespace demo
