// A pool's `tls:` block: TLS to its backends.
#include "lb/config/sections.h"
#include "lb/tls/tls_context.h"

namespace lb::config::yaml {

UpstreamTlsConfig read_upstream_tls(const Field& field) {
  UpstreamTlsConfig t;
  MapReader m(field);
  assign(m.get("verify"), t.verify, as_bool);
  if (auto f = assign(m.get("ca_file"), t.ca_file, as_string); f && !t.ca_file.empty()) check_readable_file(*f, t.ca_file);
  assign(m.get("server_name"), t.server_name, as_string);
  auto cert = assign(m.get("cert"), t.cert, as_string);
  auto key = assign(m.get("key"), t.key, as_string);
  // Mutual TLS needs both halves; one alone is a mistake worth naming.
  if (t.cert.empty() != t.key.empty()) {
    const Field& at = cert && !t.cert.empty() ? *cert : key ? *key : field;
    at.error("cert and key go together: set both for mutual TLS, or neither");
  } else if (!t.cert.empty()) {
    const bool cert_ok = check_readable_file(*cert, t.cert);
    const bool key_ok = check_readable_file(*key, t.key);
    if (cert_ok && key_ok)
      if (auto problem = tls::check_certificate_pair(t.cert, t.key)) (problem->in_key ? *key : *cert).error(problem->message);
  }
  return t;
}

}  // namespace lb::config::yaml
