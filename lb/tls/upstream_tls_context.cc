#include "lb/tls/upstream_tls_context.h"

#include <openssl/err.h>

#include "lb/tls/openssl_error.h"
#include "lb/tls/tls_context.h"
#include "lb/tls/tls_session.h"

namespace lb::tls {

namespace {

// A new session (TLS 1.3 sends them after the handshake): the connection's
// TlsSession files it in its slot.
int on_new_session(SSL* ssl, SSL_SESSION* s) {
  auto* session = static_cast<TlsSession*>(SSL_get_app_data(ssl));
  return session && session->keep_client_session(s) ? 1 : 0;
}

}  // namespace

std::shared_ptr<const UpstreamTlsContext> UpstreamTlsContext::create(const config::UpstreamTlsConfig& config) {
  std::shared_ptr<UpstreamTlsContext> t(new UpstreamTlsContext);
  t->verify_ = config.verify;
  t->server_name_ = config.server_name;
  t->sessions_.resize(kControlSlot + 1);
  t->bio_method_ = new_session_bio_method();
  t->ctx_ = SSL_CTX_new(TLS_client_method());
  if (!t->ctx_ || !t->bio_method_) throw TlsError("TLS to backends: cannot create a context: " + take_openssl_error());
  SSL_CTX* ctx = t->ctx_;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // Sessions are kept per slot by on_new_session, not in OpenSSL's cache
  // (which would be shared between worker threads).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  ERR_clear_error();
  if (config.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    const int ok = config.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                          : SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr);
    if (ok != 1)
      throw TlsError("TLS to backends: cannot use CA file '" +
                     (config.ca_file.empty() ? std::string("(system default)") : config.ca_file) +
                     "': " + take_openssl_error());
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!config.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, config.cert.c_str()) != 1)
      throw TlsError("TLS to backends: cannot use certificate '" + config.cert + "': " + take_openssl_error());
    if (SSL_CTX_use_PrivateKey_file(ctx, config.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
      throw TlsError("TLS to backends: cannot use private key '" + config.key + "': " + take_openssl_error());
  }
  return t;
}

UpstreamTlsContext::~UpstreamTlsContext() {
  for (auto& slot : sessions_)
    for (auto& [key, s] : slot) SSL_SESSION_free(s);
  if (ctx_) SSL_CTX_free(ctx_);
  if (bio_method_) BIO_meth_free(bio_method_);
}

SSL_SESSION* UpstreamTlsContext::session(size_t slot, const std::string& key) const {
  if (slot >= sessions_.size()) return nullptr;
  auto it = sessions_[slot].find(key);
  if (it == sessions_[slot].end()) return nullptr;
  if (!SSL_SESSION_is_resumable(it->second)) {
    SSL_SESSION_free(it->second);
    sessions_[slot].erase(it);
    return nullptr;
  }
  return it->second;
}

void UpstreamTlsContext::keep_session(size_t slot, const std::string& key, SSL_SESSION* s) const {
  if (slot >= sessions_.size()) return SSL_SESSION_free(s);
  SSL_SESSION*& kept = sessions_[slot][key];
  if (kept) SSL_SESSION_free(kept);
  kept = s;
}

}  // namespace lb::tls
