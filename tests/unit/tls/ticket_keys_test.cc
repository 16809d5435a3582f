#include "lb/tls/ticket_keys.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstring>

namespace lb::tls {
namespace {

// Encrypts with one key and opens with whatever the keys say, the way
// OpenSSL's ticket callback does.
struct Ctx {
  EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
  EVP_MAC* mac_alg = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mac = EVP_MAC_CTX_new(mac_alg);
  ~Ctx() {
    EVP_MAC_CTX_free(mac);
    EVP_MAC_free(mac_alg);
    EVP_CIPHER_CTX_free(cipher);
  }
};

struct Ticket {
  unsigned char name[16];
  unsigned char iv[16];
};

Ticket issue(TicketKeys& keys) {
  Ticket t{};
  Ctx c;
  EXPECT_EQ(keys.encrypt(t.name, t.iv, c.cipher, c.mac), TicketKeys::kOk);
  return t;
}

int open_ticket(TicketKeys& keys, const Ticket& t) {
  Ctx c;
  return keys.decrypt(t.name, t.iv, c.cipher, c.mac);
}

TEST(TicketKeys, CurrentKeyOpensThenRenewsThenExpires) {
  TimePoint now{};
  TicketKeys keys(std::chrono::hours(1), [&] { return now; });
  const Ticket t = issue(keys);
  EXPECT_EQ(open_ticket(keys, t), TicketKeys::kOk);

  now += std::chrono::minutes(61);  // rotated: still honoured, reissued
  EXPECT_EQ(open_ticket(keys, t), TicketKeys::kRenew);
  const Ticket fresh = issue(keys);
  EXPECT_NE(std::memcmp(fresh.name, t.name, 16), 0);
  EXPECT_EQ(open_ticket(keys, fresh), TicketKeys::kOk);

  now += std::chrono::minutes(61);  // two rotations later the old key is gone
  EXPECT_EQ(open_ticket(keys, t), TicketKeys::kUnknown);
  EXPECT_EQ(open_ticket(keys, fresh), TicketKeys::kRenew);
}

TEST(TicketKeys, AfterALongQuietSpellNoOldKeyIsHonoured) {
  TimePoint now{};
  TicketKeys keys(std::chrono::hours(1), [&] { return now; });
  const Ticket t = issue(keys);
  now += std::chrono::hours(5);
  EXPECT_EQ(open_ticket(keys, t), TicketKeys::kUnknown);
}

TEST(TicketKeys, ForeignTicketIsUnknownAndKeysDifferPerInstance) {
  TicketKeys a, b;
  const Ticket t = issue(a);
  EXPECT_EQ(open_ticket(b, t), TicketKeys::kUnknown);
  EXPECT_EQ(open_ticket(a, t), TicketKeys::kOk);
}

}  // namespace
}  // namespace lb::tls
