#pragma once
// One TLS connection, driven by the connection's own libuv I/O: ciphertext
// read from the socket is fed in and decrypted into the connection's normal
// parse path; plaintext the connection writes is encrypted as the stream
// writer flushes it (StreamEncoder), one flush becoming TLS records at once
// (no coalescing delay, so streamed chunks leave as they come).
//
// No memory BIOs: a small BIO type reads straight from the buffer libuv
// filled and appends records to the string the writer sends, so an idle
// TLS connection holds no buffers (SSL_MODE_RELEASE_BUFFERS does the rest).
#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "lb/core/stream_writer.h"
#include "lb/tls/tls_context.h"
#include "lb/tls/upstream_tls_context.h"

namespace lb::tls {

// The BIO type TlsContext owns (one per context, freed with it).
BIO_METHOD* new_session_bio_method();

class TlsSession final : public StreamEncoder {
 public:
  explicit TlsSession(std::shared_ptr<const TlsContext> context);
  // The client side, to a backend at `host` (SNI and the name checked come
  // from the context's server_name_for(host)); sessions are looked up and
  // kept in `slot` of the context under `session_key`.
  TlsSession(std::shared_ptr<const UpstreamTlsContext> context, const std::string& host, size_t slot,
             std::string session_key);
  ~TlsSession() override;
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  enum class Read {
    data,      // `n` plaintext bytes are in the buffer
    want,      // all input used: wait for the socket
    closed,    // the peer sent close_notify
    failed,    // fatal TLS error (bad handshake, bad record): see error()
  };
  // Makes `data` the input for the following read() calls. The bytes must
  // stay valid until read() says `want` (or the session is dropped).
  void feed(const char* data, size_t len);
  // Decrypts into `out`, up to `cap` bytes; handshake steps happen here.
  Read read(char* out, size_t cap, size_t* n);

  bool handshake_done() const { return SSL_is_init_finished(ssl_) != 0; }
  // The client and lbd agreed on h2 by ALPN (known once the handshake is done).
  bool negotiated_h2() const {
    const unsigned char* proto = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl_, &proto, &len);
    return len == 2 && proto[0] == 'h' && proto[1] == '2';
  }
  // Client side: sends the ClientHello (into take_output()). False: failed.
  bool start_handshake();
  // Records produced outside encode() so far (handshake flights), for a
  // connection that must send them before its writer may encode anything.
  std::string take_output() { return std::exchange(pending_, std::string()); }
  bool resumed() const { return SSL_session_reused(ssl_) != 0; }
  // For the client context's new-session callback: keeps `s` for the next
  // connection to the same backend (takes the reference).
  bool keep_client_session(SSL_SESSION* s);
  // What failed, for the log ("wrong version number", "http request" ...).
  const std::string& error() const { return error_; }
  // The client spoke plain HTTP to this TLS port.
  bool plain_http() const { return plain_http_; }
  // Queues close_notify (sent with the next flush). Harmless before the
  // handshake is done: nothing is queued then.
  void close_notify();
  // Negotiated details (logs, tests).
  std::string_view server_name() const;
  const char* version() const { return SSL_get_version(ssl_); }

  // StreamEncoder
  void encode(const uv_buf_t* bufs, size_t count, std::string& out) override;
  bool has_output() const override { return !pending_.empty(); }

 private:
  friend struct SessionBio;
  void fail(int ssl_error);

  void attach(SSL_CTX* ctx, BIO_METHOD* method);

  std::shared_ptr<const TlsContext> context_;  // the SNI callback and tickets use it
  std::shared_ptr<const UpstreamTlsContext> client_context_;  // client side: sessions, names
  size_t slot_ = 0;
  std::string session_key_;
  SSL* ssl_ = nullptr;
  const char* in_ = nullptr;  // fed ciphertext not yet read by OpenSSL
  size_t in_len_ = 0;
  std::string pending_;     // records produced outside encode() (handshake, alerts)
  std::string* out_ = &pending_;  // where the BIO appends records
  std::string error_;
  bool plain_http_ = false;
};

}  // namespace lb::tls
