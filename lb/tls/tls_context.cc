#include "lb/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "lb/tls/openssl_error.h"
#include "lb/tls/tls_session.h"

namespace lb::tls {

namespace {

constexpr unsigned char kSessionIdContext[] = "lbd";

// Keys must not be encrypted: a daemon has nobody to ask for the passphrase
// (OpenSSL's default would prompt on the terminal).
int no_passphrase(char*, int, int, void*) { return 0; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// DNS names the certificate is for: subjectAltName entries, or the subject
// CN when it has none (old self-signed certificates).
std::vector<std::string> certificate_names(X509* cert) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type != GEN_DNS) continue;
      const ASN1_STRING* s = g->d.dNSName;
      names.push_back(lower({reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), size_t(ASN1_STRING_length(s))}));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char cn[256];
    const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    if (n > 0) names.push_back(lower({cn, size_t(n)}));
  }
  return names;
}

// Loads cert (with its chain) and key into ctx.
std::optional<PairProblem> load_pair(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    return PairProblem{false, "cannot use certificate '" + cert_file + "': " + take_openssl_error()};
  // Parsed apart from its use, so that "not a key" and "another
  // certificate's key" get their own messages.
  BIO* file = BIO_new_file(key_file.c_str(), "r");
  EVP_PKEY* key = file ? PEM_read_bio_PrivateKey(file, nullptr, no_passphrase, nullptr) : nullptr;
  BIO_free(file);
  if (!key) return PairProblem{true, "cannot use private key '" + key_file + "': " + take_openssl_error()};
  const bool used = SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!used || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return PairProblem{true, "private key '" + key_file + "' does not match certificate '" + cert_file + "'"};
  }
  return std::nullopt;
}

const TlsContext* owner_of(SSL* ssl) {
  return static_cast<const TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// SNI: switch the connection to the certificate the client asked for. An
// unknown name (or none) keeps the default certificate, as nginx does: the
// client's own name check then decides.
int on_server_name(SSL* ssl, int*, void*) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  SSL_CTX* chosen = owner_of(ssl)->for_server_name(name);
  if (chosen && chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;
}

// ALPN: h2 when the listener speaks it and the client offers it, else
// http/1.1 (our order decides). A client offering only protocols lbd does
// not speak gets the fatal alert RFC 7301 asks for, not a silent mismatch.
int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
            void*) {
  static constexpr unsigned char kH2First[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  const bool h2 = owner_of(ssl)->offers_h2();
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, h2 ? kH2First : kHttp11, h2 ? sizeof kH2First : sizeof kHttp11, in,
                            inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

int on_ticket_key(SSL* ssl, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                  int enc) {
  TicketKeys& keys = *owner_of(ssl)->ticket_keys();
  return enc ? keys.encrypt(name, iv, cipher, mac) : keys.decrypt(name, iv, cipher, mac);
}

SSL_CTX* new_context(const config::TlsConfig& config, const TlsContext* owner, Duration ticket_rotation) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) throw TlsError("TLS: cannot create a context: " + take_openssl_error());
  SSL_CTX_set_app_data(ctx, const_cast<TlsContext*>(owner));
  SSL_CTX_set_min_proto_version(ctx, config.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Idle keep-alive connections give their record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_tlsext_servername_callback(ctx, on_server_name);
  SSL_CTX_set_alpn_select_cb(ctx, on_alpn, nullptr);
  // Resumption is stateless (tickets): no session cache shared between
  // workers, nothing to lock on the handshake path but the key copy.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
  // A ticket is honoured for at most two key periods (TicketKeys).
  SSL_CTX_set_timeout(ctx, long(std::chrono::duration_cast<std::chrono::seconds>(2 * ticket_rotation).count()));
  return ctx;
}

}  // namespace

std::optional<PairProblem> check_certificate_pair(const std::string& cert_file, const std::string& key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return PairProblem{false, "TLS: cannot create a context: " + take_openssl_error()};
  auto problem = load_pair(ctx, cert_file, key_file);
  SSL_CTX_free(ctx);
  return problem;
}

std::shared_ptr<const TlsContext> TlsContext::create(const config::TlsConfig& config,
                                                     std::shared_ptr<TicketKeys> keys, bool offer_h2) {
  if (config.certificates.empty()) throw TlsError("TLS: no certificates");
  std::shared_ptr<TlsContext> t(new TlsContext);
  t->offer_h2_ = offer_h2;
  t->keys_ = keys ? std::move(keys) : std::make_shared<TicketKeys>();
  t->bio_method_ = new_session_bio_method();
  if (!t->bio_method_) throw TlsError("TLS: cannot create the BIO method: " + take_openssl_error());
  for (const config::TlsCertificate& c : config.certificates) {
    SSL_CTX* ctx = new_context(config, t.get(), t->keys_->rotation());
    t->contexts_.push_back(ctx);  // owned from here on
    if (auto problem = load_pair(ctx, c.cert, c.key)) throw TlsError(problem->message);
    std::vector<std::string> names = certificate_names(SSL_CTX_get0_certificate(ctx));
    // Config order decides between certificates claiming the same name.
    for (const std::string& n : names) {
      if (n.starts_with("*.")) t->wildcard_.emplace(n.substr(2), ctx);
      else t->exact_.emplace(n, ctx);
    }
    t->names_.push_back(std::move(names));
  }
  return t;
}

TlsContext::~TlsContext() {
  for (SSL_CTX* c : contexts_) SSL_CTX_free(c);
  if (bio_method_) BIO_meth_free(bio_method_);
}

SSL_CTX* TlsContext::for_server_name(std::string_view name) const {
  std::string n = lower(name);
  if (!n.empty() && n.back() == '.') n.pop_back();  // "example.com." is "example.com"
  if (auto it = exact_.find(n); it != exact_.end()) return it->second;
  // "*.example.com" covers exactly one label: "a.example.com", not "a.b.example.com".
  const size_t dot = n.find('.');
  if (dot != std::string::npos && dot > 0)
    if (auto it = wildcard_.find(n.substr(dot + 1)); it != wildcard_.end()) return it->second;
  return nullptr;
}

}  // namespace lb::tls
