#pragma once
// The client side of TLS to one pool's backends, built from its `tls:`
// block: one SSL_CTX (TLS 1.2+, the system's or ca_file's CAs, an optional
// client certificate) and the session cache that lets new connections to
// the same backend resume instead of doing a full handshake.
//
// Immutable once built, shared through the config snapshot, so a reload
// builds a new one and thereby re-reads ca_file, cert and key. The session
// cache is the one part that changes: it has a slot per thread that
// connects (each worker by its index, health checks in the last slot), and
// a slot is only ever touched by its own thread, so no lock is taken.
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "lb/config/config.h"

namespace lb::tls {

class UpstreamTlsContext {
 public:
  // The slot health checks (the control thread) use.
  static constexpr size_t kControlSlot = config::kMaxWorkers;

  // Throws TlsError naming the file that cannot be used.
  static std::shared_ptr<const UpstreamTlsContext> create(const config::UpstreamTlsConfig& config);
  ~UpstreamTlsContext();
  UpstreamTlsContext(const UpstreamTlsContext&) = delete;
  UpstreamTlsContext& operator=(const UpstreamTlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  BIO_METHOD* bio_method() const { return bio_method_; }
  bool verify() const { return verify_; }
  // SNI and the name the certificate must carry, for a backend at `host`:
  // server_name when set, else the host itself.
  const std::string& server_name_for(const std::string& host) const {
    return server_name_.empty() ? host : server_name_;
  }

  // The last session a connection from `slot` to `key` (a backend address)
  // got, or null. Borrowed: SSL_set_session takes its own reference.
  SSL_SESSION* session(size_t slot, const std::string& key) const;
  // Keeps `s` (taking over the caller's reference) for the next connection.
  void keep_session(size_t slot, const std::string& key, SSL_SESSION* s) const;

 private:
  UpstreamTlsContext() = default;

  SSL_CTX* ctx_ = nullptr;
  BIO_METHOD* bio_method_ = nullptr;
  bool verify_ = true;
  std::string server_name_;
  mutable std::vector<std::unordered_map<std::string, SSL_SESSION*>> sessions_;
};

}  // namespace lb::tls
