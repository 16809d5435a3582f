#include "lb/tls/tls_session.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <string>

namespace lb::tls {
namespace {

const std::string kSessionDataDir = std::string(LBD_TEST_DATA_DIR) + "/tls";

std::shared_ptr<const TlsContext> context(const std::string& min_version = "1.2") {
  config::TlsConfig c;
  c.min_version = min_version;
  c.certificates.push_back({kSessionDataDir + "/site.pem", kSessionDataDir + "/site.key"});
  c.certificates.push_back({kSessionDataDir + "/wild.pem", kSessionDataDir + "/wild.key"});
  return TlsContext::create(c);
}

// An OpenSSL client on memory BIOs talking to a TlsSession in-process.
struct Pair {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL* client = nullptr;
  BIO* to_client = BIO_new(BIO_s_mem());
  BIO* from_client = BIO_new(BIO_s_mem());
  TlsSession server;
  std::string received;  // plaintext the server decrypted
  TlsSession::Read last = TlsSession::Read::want;

  explicit Pair(std::shared_ptr<const TlsContext> ctx, const char* sni = nullptr, int max_version = 0,
                const unsigned char* alpn = nullptr, unsigned alpn_len = 0)
      : server(std::move(ctx)) {
    if (max_version) {
      SSL_CTX_set_min_proto_version(client_ctx, TLS1_VERSION);
      SSL_CTX_set_max_proto_version(client_ctx, max_version);
      SSL_CTX_set_security_level(client_ctx, 0);
    }
    client = SSL_new(client_ctx);
    SSL_set_bio(client, to_client, from_client);
    SSL_set_connect_state(client);
    if (sni) SSL_set_tlsext_host_name(client, sni);
    if (alpn) SSL_set_alpn_protos(client, alpn, alpn_len);
  }
  ~Pair() {
    SSL_free(client);
    SSL_CTX_free(client_ctx);
  }

  // Moves bytes both ways until nothing moves.
  void pump() {
    for (int i = 0; i < 20; ++i) {
      SSL_do_handshake(client);
      std::string c2s(BIO_ctrl_pending(from_client), '\0');
      if (!c2s.empty()) BIO_read(from_client, c2s.data(), int(c2s.size()));
      if (!c2s.empty()) {
        server.feed(c2s.data(), c2s.size());
        char buf[4096];
        size_t n = 0;
        while ((last = server.read(buf, sizeof buf, &n)) == TlsSession::Read::data) received.append(buf, n);
      }
      std::string s2c;
      server.encode(nullptr, 0, s2c);
      if (!s2c.empty()) BIO_write(to_client, s2c.data(), int(s2c.size()));
      if (c2s.empty() && s2c.empty()) return;
    }
  }

  std::string client_read() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = SSL_read(client, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    return out;
  }
};

std::string peer_cn(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return cn;
}

TEST(TlsSession, HandshakeThenDataBothWays) {
  static const unsigned char kAlpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  Pair p(context(), "www.example.com", 0, kAlpn, sizeof kAlpn);
  p.pump();
  ASSERT_TRUE(p.server.handshake_done());
  EXPECT_EQ(SSL_is_init_finished(p.client), 1);
  EXPECT_EQ(peer_cn(p.client), "example.com");
  EXPECT_EQ(p.server.server_name(), "www.example.com");
  const unsigned char* proto = nullptr;
  unsigned proto_len = 0;
  SSL_get0_alpn_selected(p.client, &proto, &proto_len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(proto), proto_len), "http/1.1");

  ASSERT_GT(SSL_write(p.client, "GET / HTTP/1.1\r\n\r\n", 18), 0);
  p.pump();
  EXPECT_EQ(p.received, "GET / HTTP/1.1\r\n\r\n");

  // Several buffers of one flush arrive whole and in order.
  std::string big(40000, 'x');
  const uv_buf_t bufs[] = {uv_buf_init(const_cast<char*>("HTTP/1.1 200 OK\r\n\r\n"), 19),
                           uv_buf_init(big.data(), unsigned(big.size())), uv_buf_init(const_cast<char*>("end"), 3)};
  std::string wire;
  p.server.encode(bufs, 3, wire);
  BIO_write(p.to_client, wire.data(), int(wire.size()));
  EXPECT_EQ(p.client_read(), "HTTP/1.1 200 OK\r\n\r\n" + big + "end");
}

TEST(TlsSession, WildcardCertificateForSubdomain) {
  Pair p(context(), "chat.example.org");
  p.pump();
  ASSERT_TRUE(p.server.handshake_done());
  EXPECT_EQ(peer_cn(p.client), "*.example.org");
}

TEST(TlsSession, NoServerNameGetsTheDefaultCertificate) {
  Pair p(context());
  p.pump();
  ASSERT_TRUE(p.server.handshake_done());
  EXPECT_EQ(peer_cn(p.client), "example.com");
}

TEST(TlsSession, OnlyH2OfferedIsRefused) {
  static const unsigned char kH2[] = {2, 'h', '2'};
  Pair p(context(), "example.com", 0, kH2, sizeof kH2);
  p.pump();
  EXPECT_FALSE(p.server.handshake_done());
  EXPECT_EQ(p.last, TlsSession::Read::failed);
}

TEST(TlsSession, Tls11IsRefused) {
  Pair p(context(), "example.com", TLS1_1_VERSION);
  p.pump();
  EXPECT_FALSE(p.server.handshake_done());
  EXPECT_EQ(p.last, TlsSession::Read::failed);
  EXPECT_FALSE(p.server.error().empty());
}

TEST(TlsSession, Tls12IsRefusedWhenMinimumIs13) {
  Pair p(context("1.3"), "example.com", TLS1_2_VERSION);
  p.pump();
  EXPECT_EQ(p.last, TlsSession::Read::failed);
  Pair ok(context("1.3"), "example.com");
  ok.pump();
  EXPECT_TRUE(ok.server.handshake_done());
  EXPECT_STREQ(ok.server.version(), "TLSv1.3");
}

TEST(TlsSession, PlainHttpIsRecognised) {
  TlsSession s(context());
  const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  s.feed(req.data(), req.size());
  char buf[256];
  size_t n = 0;
  EXPECT_EQ(s.read(buf, sizeof buf, &n), TlsSession::Read::failed);
  EXPECT_TRUE(s.plain_http());
}

TEST(TlsSession, GarbageFailsAndIsNotPlainHttp) {
  TlsSession s(context());
  const std::string junk(300, '\x16');
  s.feed(junk.data(), junk.size());
  char buf[256];
  size_t n = 0;
  EXPECT_EQ(s.read(buf, sizeof buf, &n), TlsSession::Read::failed);
  EXPECT_FALSE(s.plain_http());
  EXPECT_FALSE(s.error().empty());
}

TEST(TlsSession, NothingIsSentInTheClearBeforeTheHandshake) {
  TlsSession s(context());
  const uv_buf_t b = uv_buf_init(const_cast<char*>("secret"), 6);
  std::string wire;
  s.encode(&b, 1, wire);
  EXPECT_EQ(wire, "");
}

TEST(TlsSession, CloseNotifyReachesTheClient) {
  Pair p(context(), "example.com");
  p.pump();
  ASSERT_TRUE(p.server.handshake_done());
  p.server.close_notify();
  p.pump();
  char buf[16];
  EXPECT_EQ(SSL_read(p.client, buf, sizeof buf), 0);
  EXPECT_EQ(SSL_get_error(p.client, 0), SSL_ERROR_ZERO_RETURN);
}

}  // namespace
}  // namespace lb::tls
