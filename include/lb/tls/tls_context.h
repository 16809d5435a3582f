#pragma once
// The TLS side of one listener, built from its `tls:` config: one SSL_CTX
// per certificate, all configured alike (versions, ciphers, ALPN, tickets),
// and the SNI table that picks among them. Immutable once built and shared
// by every worker through the config snapshot, so a reload builds a new one
// and thereby re-reads the certificate files.
#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "lb/config/config.h"
#include "lb/tls/ticket_keys.h"

namespace lb::tls {

// A certificate or key that cannot be used; the message names the file.
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// TLS 1.2 suites (TLS 1.3 keeps OpenSSL's three AEAD suites): forward
// secrecy and AEAD only, as in Mozilla's "intermediate" profile.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// What is wrong with a cert/key pair, for the config loader.
struct PairProblem {
  bool in_key = false;  // the key file (or the pair) rather than the cert file
  std::string message;
};
// Loads the pair the way a listener would; nullopt when it is usable.
std::optional<PairProblem> check_certificate_pair(const std::string& cert_file, const std::string& key_file);

class TlsContext {
 public:
  // Throws TlsError. `keys` carries ticket keys over a reload (null: new ones).
  // `offer_h2`: ALPN offers h2 before http/1.1 (the listener's http2.enabled).
  static std::shared_ptr<const TlsContext> create(const config::TlsConfig& config,
                                                  std::shared_ptr<TicketKeys> keys = nullptr, bool offer_h2 = false);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // The context a connection starts with (the default certificate).
  SSL_CTX* initial() const { return contexts_.front(); }
  // The context for an SNI name: exact name, then "*.parent", else null.
  SSL_CTX* for_server_name(std::string_view name) const;
  const std::shared_ptr<TicketKeys>& ticket_keys() const { return keys_; }
  bool offers_h2() const { return offer_h2_; }
  // The BIO type a TlsSession uses to move ciphertext (see tls_session.cc).
  BIO_METHOD* bio_method() const { return bio_method_; }
  // DNS names per certificate, in config order (logs, tests).
  const std::vector<std::vector<std::string>>& names() const { return names_; }

 private:
  TlsContext() = default;

  std::vector<SSL_CTX*> contexts_;  // [0] is the default certificate
  std::vector<std::vector<std::string>> names_;
  std::unordered_map<std::string, SSL_CTX*> exact_;     // "www.example.com"
  std::unordered_map<std::string, SSL_CTX*> wildcard_;  // "example.com" for "*.example.com"
  std::shared_ptr<TicketKeys> keys_;
  BIO_METHOD* bio_method_ = nullptr;
  bool offer_h2_ = false;
};

}  // namespace lb::tls
