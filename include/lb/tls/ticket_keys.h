#pragma once
// Session-ticket keys kept only in memory. A resuming client presents a
// ticket that lbd encrypted earlier; any worker must be able to open it
// (SO_REUSEPORT sends the reconnect anywhere), so one TicketKeys is shared
// by all workers of a listener and carried over reloads. The encrypting key
// is replaced every `rotation`; the previous one still opens tickets for one
// more period (those clients get a fresh ticket), so a ticket lives at most
// two periods and a stolen key exposes a bounded window of sessions.
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <functional>
#include <mutex>
#include <optional>

#include "lb/core/time.h"

namespace lb::tls {

class TicketKeys {
 public:
  using Now = std::function<TimePoint()>;
  explicit TicketKeys(Duration rotation = std::chrono::hours(12), Now now = Clock::now);

  // Results as OpenSSL's ticket-key callback wants them.
  enum : int { kUnknown = 0, kOk = 1, kRenew = 2, kError = -1 };
  // Picks the current key for a new ticket: fills `name` and `iv` and
  // initialises both contexts. Returns kOk or kError.
  int encrypt(unsigned char name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac);
  // Finds the key `name` refers to: kOk (current key), kRenew (previous key:
  // still valid, reissue), kUnknown (expired or foreign ticket: full handshake).
  int decrypt(const unsigned char name[16], const unsigned char iv[16], EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac);

  Duration rotation() const { return rotation_; }

 private:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> aes;
    std::array<unsigned char, 32> hmac;
    TimePoint created;
  };
  static Key fresh_key(TimePoint now);
  void rotate_if_due();  // with mu_ held

  const Duration rotation_;
  const Now now_;
  // Handshakes on every worker use the keys; a rotation replaces them. The
  // lock is held for a few copies per full handshake or resumption only.
  std::mutex mu_;
  Key current_;
  std::optional<Key> previous_;
};

}  // namespace lb::tls
