#pragma once
// Why an attempt on a backend failed, as the Exchange and the logs name it.
namespace lb::proxy {

enum class UpstreamFailure {
  connect_failed,    // refused, unreachable, ...
  connect_timeout,
  closed_early,      // EOF or reset before a complete response
  response_timeout,  // no byte from the backend for timeouts.response
  invalid_response,  // unparsable or smuggling-prone response
  tls_failed,        // TLS handshake refused or failed (certificate, protocol)
};
const char* failure_name(UpstreamFailure f);

}  // namespace lb::proxy
