#pragma once

#include <openssl/err.h>

#include <string>

namespace lb::tls {

// The most specific reason OpenSSL queued (the last one), for an error
// message; empties the thread's queue so the next failure starts clean.
inline std::string take_openssl_error() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (!last) return "unknown error";
  const char* reason = ERR_reason_error_string(last);
  return reason ? reason : "error " + std::to_string(last);
}

}  // namespace lb::tls
