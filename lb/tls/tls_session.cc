#include "lb/tls/tls_session.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace lb::tls {

// The BIO under every TlsSession: reads come from the buffer last fed,
// writes append to the session's current output string.
struct SessionBio {
  static TlsSession* session(BIO* b) { return static_cast<TlsSession*>(BIO_get_data(b)); }

  static int read(BIO* b, char* out, int len) {
    TlsSession* s = session(b);
    BIO_clear_retry_flags(b);
    if (s->in_len_ == 0) {
      BIO_set_retry_read(b);
      return -1;
    }
    const size_t n = std::min(s->in_len_, size_t(len));
    std::memcpy(out, s->in_, n);
    s->in_ += n;
    s->in_len_ -= n;
    return int(n);
  }

  static int write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    session(b)->out_->append(data, size_t(len));
    return len;
  }

  static long ctrl(BIO*, int cmd, long, void*) {
    // OpenSSL flushes after each handshake flight; the bytes are already
    // with the session and leave with the connection's next flush.
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
  }

  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }
};

BIO_METHOD* new_session_bio_method() {
  BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lbd libuv stream");
  if (!m) return nullptr;
  BIO_meth_set_read(m, &SessionBio::read);
  BIO_meth_set_write(m, &SessionBio::write);
  BIO_meth_set_ctrl(m, &SessionBio::ctrl);
  BIO_meth_set_create(m, &SessionBio::create);
  return m;
}

void TlsSession::attach(SSL_CTX* ctx, BIO_METHOD* method) {
  ssl_ = SSL_new(ctx);
  BIO* bio = ssl_ ? BIO_new(method) : nullptr;
  if (!bio) {
    if (ssl_) SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; the SSL owns it
}

TlsSession::TlsSession(std::shared_ptr<const TlsContext> context) : context_(std::move(context)) {
  attach(context_->initial(), context_->bio_method());
  SSL_set_accept_state(ssl_);
}

TlsSession::TlsSession(std::shared_ptr<const UpstreamTlsContext> context, const std::string& host, size_t slot,
                       std::string session_key)
    : client_context_(std::move(context)), slot_(slot), session_key_(std::move(session_key)) {
  attach(client_context_->ctx(), client_context_->bio_method());
  SSL_set_app_data(ssl_, this);  // the new-session callback finds us here
  SSL_set_connect_state(ssl_);
  const std::string& name = client_context_->server_name_for(host);
  in6_addr ip{};
  const bool is_ip = inet_pton(AF_INET, name.c_str(), &ip) == 1 || inet_pton(AF_INET6, name.c_str(), &ip) == 1;
  // SNI carries host names only (RFC 6066); an address is checked against
  // the certificate's IP entries instead.
  if (!is_ip && !name.empty()) SSL_set_tlsext_host_name(ssl_, name.c_str());
  if (client_context_->verify() && !name.empty()) {
    if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
    else SSL_set1_host(ssl_, name.c_str());
  }
  if (SSL_SESSION* s = client_context_->session(slot_, session_key_)) SSL_set_session(ssl_, s);
}

bool TlsSession::start_handshake() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) return true;
  const int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ) return true;
  fail(e);
  return false;
}

bool TlsSession::keep_client_session(SSL_SESSION* s) {
  if (!client_context_) return false;
  client_context_->keep_session(slot_, session_key_, s);
  return true;
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::feed(const char* data, size_t len) {
  in_ = data;
  in_len_ = len;
}

TlsSession::Read TlsSession::read(char* out, size_t cap, size_t* n) {
  *n = 0;
  if (!error_.empty()) return Read::failed;
  for (;;) {
    ERR_clear_error();
    const size_t before = in_len_;
    const int r = SSL_read(ssl_, out, int(std::min(cap, size_t(1) << 30)));
    if (r > 0) {
      *n = size_t(r);
      return Read::data;
    }
    const int e = SSL_get_error(ssl_, r);
    switch (e) {
      case SSL_ERROR_WANT_READ:
        if (in_len_ == 0) return Read::want;
        // A step that produced no application data (a post-handshake
        // message): go on while input is being used up.
        if (in_len_ < before) continue;
        error_ = "TLS stalled with unread input";
        return Read::failed;
      case SSL_ERROR_ZERO_RETURN:
        return Read::closed;
      default:
        fail(e);
        return Read::failed;
    }
  }
}

void TlsSession::fail(int ssl_error) {
  const unsigned long e = ERR_peek_last_error();
  // A certificate the client side refused: say what was wrong with it.
  if (client_context_ && SSL_get_verify_result(ssl_) != X509_V_OK) {
    error_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(SSL_get_verify_result(ssl_));
    ERR_clear_error();
    in_len_ = 0;
    return;
  }
  plain_http_ = ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST;
  const char* reason = e ? ERR_reason_error_string(e) : nullptr;
  if (reason) error_ = reason;
  else if (ssl_error == SSL_ERROR_SYSCALL) error_ = "unexpected end of TLS stream";
  else error_ = "TLS error " + std::to_string(ssl_error);
  ERR_clear_error();
  in_len_ = 0;
}

void TlsSession::close_notify() {
  if (!handshake_done() || !error_.empty()) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues close_notify; we do not wait for the peer's
  ERR_clear_error();
}

std::string_view TlsSession::server_name() const {
  const char* n = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return n ? n : "";
}

void TlsSession::encode(const uv_buf_t* bufs, size_t count, std::string& out) {
  // Records produced since the last flush (handshake, tickets, alerts) go first.
  if (!pending_.empty()) {
    out.append(pending_);
    std::string().swap(pending_);  // an idle session keeps no buffer
  }
  if (count == 0) return;
  if (!handshake_done() || !error_.empty()) return;  // nothing may be sent in the clear
  out_ = &out;
  // Small pieces (a head, chunk framing) are gathered so that they make one
  // record with the body bytes next to them, not a record each.
  constexpr size_t kRecord = 16 * 1024;
  char gather[kRecord];
  size_t gathered = 0;
  auto write = [this](const char* p, size_t len) {
    while (len) {
      const int w = SSL_write(ssl_, p, int(std::min(len, size_t(1) << 30)));
      if (w <= 0) return false;  // fatal: the connection is dropped by its owner on the next read
      p += w;
      len -= size_t(w);
    }
    return true;
  };
  bool ok = true;
  for (size_t i = 0; i < count && ok; ++i) {
    const char* p = bufs[i].base;
    const size_t len = bufs[i].len;
    if (gathered + len <= kRecord) {
      std::memcpy(gather + gathered, p, len);
      gathered += len;
      continue;
    }
    if (gathered) ok = write(gather, gathered);
    gathered = 0;
    if (ok && len < kRecord) {
      std::memcpy(gather, p, len);
      gathered = len;
    } else if (ok) {
      ok = write(p, len);
    }
  }
  if (ok && gathered) ok = write(gather, gathered);
  if (!ok) ERR_clear_error();
  out_ = &pending_;
}

}  // namespace lb::tls
