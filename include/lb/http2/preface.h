#pragma once
// The client connection preface (RFC 9113 §3.4): the first bytes of every
// HTTP/2 connection, and on clear text what tells h2c by prior knowledge
// from HTTP/1.1 (its first line is also an HTTP/1.1 request line).
#include <string_view>

namespace lb::http2 {

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace lb::http2
