#include "lb/tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace lb::tls {

namespace {

bool init_mac(EVP_MAC_CTX* mac, const std::array<unsigned char, 32>& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.data()), key.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

TicketKeys::TicketKeys(Duration rotation, Now now)
    : rotation_(rotation), now_(std::move(now)), current_(fresh_key(now_())) {}

TicketKeys::Key TicketKeys::fresh_key(TimePoint now) {
  Key k;
  if (RAND_bytes(k.name.data(), int(k.name.size())) != 1 || RAND_bytes(k.aes.data(), int(k.aes.size())) != 1 ||
      RAND_bytes(k.hmac.data(), int(k.hmac.size())) != 1)
    throw std::runtime_error("TLS: no randomness for session ticket keys");
  k.created = now;
  return k;
}

void TicketKeys::rotate_if_due() {
  const TimePoint now = now_();
  if (now - current_.created < rotation_) return;
  // After a long quiet spell the previous key is older than two periods:
  // drop it rather than honour tickets past their lifetime.
  if (now - current_.created < 2 * rotation_) previous_ = current_;
  else previous_.reset();
  current_ = fresh_key(now);
}

int TicketKeys::encrypt(unsigned char name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac) {
  Key k;
  {
    std::lock_guard lock(mu_);
    try {
      rotate_if_due();
    } catch (const std::exception&) {
      return kError;
    }
    k = current_;
  }
  if (RAND_bytes(iv, 16) != 1) return kError;
  std::memcpy(name, k.name.data(), 16);
  if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1) return kError;
  return init_mac(mac, k.hmac) ? kOk : kError;
}

int TicketKeys::decrypt(const unsigned char name[16], const unsigned char iv[16], EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac) {
  Key k;
  int result = kUnknown;
  {
    std::lock_guard lock(mu_);
    try {
      rotate_if_due();
    } catch (const std::exception&) {
      return kError;
    }
    if (std::memcmp(name, current_.name.data(), 16) == 0) {
      k = current_;
      result = kOk;
    } else if (previous_ && std::memcmp(name, previous_->name.data(), 16) == 0) {
      k = *previous_;
      result = kRenew;
    }
  }
  if (result == kUnknown) return kUnknown;
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1) return kError;
  return init_mac(mac, k.hmac) ? result : kError;
}

}  // namespace lb::tls
