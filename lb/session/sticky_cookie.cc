#include "lb/session/sticky_cookie.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <array>
#include <cstring>

namespace lb::session {

namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kBodySize = 1 + 8 + 8;
constexpr size_t kMacSize = 32;
constexpr size_t kRawSize = kBodySize + kMacSize;  // 49 bytes: 66 base64url characters
static_assert((kRawSize * 4 + 2) / 3 == StickyCookieCodec::kEncodedSize);

using Raw = std::array<unsigned char, kRawSize>;

void put_be64(unsigned char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<unsigned char>(v & 0xff);
}

uint64_t get_be64(const unsigned char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

// HMAC-SHA256 through a keyed EVP_MAC context kept per thread. OpenSSL 3's
// one-shot HMAC() fetches the algorithm and keys a new context on every call
// (about 1 us, and a shared lock across worker threads); re-initialising a
// keyed context costs a tenth of that. A context must not be shared between
// threads, hence one per thread; it remembers its key, and re-keys when a
// pool with another key (or a reloaded key) signs on the same thread.
class ThreadMac {
 public:
  ~ThreadMac() {
    EVP_MAC_CTX_free(ctx_);
    OPENSSL_cleanse(key_.data(), key_.size());
  }

  bool sign(const std::string& key, const unsigned char* body, unsigned char* mac) {
    if (!ctx_ || key != key_) {
      if (!rekey(key)) return false;
    } else if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1) {  // same key: just reset
      return false;
    }
    size_t len = 0;
    return EVP_MAC_update(ctx_, body, kBodySize) == 1 && EVP_MAC_final(ctx_, mac, &len, kMacSize) == 1 &&
           len == kMacSize;
  }

 private:
  bool rekey(const std::string& key) {
    OPENSSL_cleanse(key_.data(), key_.size());
    key_.clear();
    if (!ctx_) {
      EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
      if (!hmac) return false;
      ctx_ = EVP_MAC_CTX_new(hmac);
      EVP_MAC_free(hmac);  // the context holds its own reference
      if (!ctx_) return false;
    }
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) return false;
    key_ = key;
    return true;
  }

  EVP_MAC_CTX* ctx_ = nullptr;
  std::string key_;
};

bool sign(const std::string& key, const unsigned char* body, unsigned char* mac) {
  thread_local ThreadMac thread_mac;
  return thread_mac.sign(key, body, mac);
}

// OpenSSL's base64, turned into the URL-safe alphabet without padding: the
// value is then a valid cookie-octet sequence that needs no quoting.
std::string to_base64url(const Raw& raw) {
  std::array<unsigned char, (kRawSize + 2) / 3 * 4 + 1> b64{};
  const int n = EVP_EncodeBlock(b64.data(), raw.data(), kRawSize);
  std::string out(reinterpret_cast<const char*>(b64.data()), size_t(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

bool from_base64url(std::string_view text, Raw& raw) {
  if (text.size() != StickyCookieCodec::kEncodedSize) return false;
  std::string b64(text);
  for (char& c : b64) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return false;  // '+', '/', '=' and anything else are not ours
    }
  }
  while (b64.size() % 4) b64.push_back('=');
  std::array<unsigned char, (kRawSize + 2) / 3 * 4> decoded{};
  const int n = EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  if (n < static_cast<int>(kRawSize)) return false;
  std::memcpy(raw.data(), decoded.data(), kRawSize);
  // Only the canonical spelling: unused low bits of the last character must
  // be zero, so one cookie has exactly one text.
  return to_base64url(raw) == text;
}

}  // namespace

uint64_t sticky_backend_id(std::string_view pool, std::string_view backend) {
  std::string text;
  text.reserve(pool.size() + 1 + backend.size());
  text.append(pool);
  text.push_back('\0');
  text.append(backend);
  return XXH64(text.data(), text.size(), 0);
}

const char* check_name(CookieCheck c) {
  switch (c) {
    case CookieCheck::valid: return "valid";
    case CookieCheck::malformed: return "malformed";
    case CookieCheck::forged: return "forged";
    case CookieCheck::expired: return "expired";
  }
  return "?";
}

StickyCookieCodec::StickyCookieCodec(std::string key) : key_(std::move(key)) {}

std::string StickyCookieCodec::encode(const StickyClaim& claim) const {
  Raw raw{};
  raw[0] = kVersion;
  put_be64(raw.data() + 1, claim.backend_id);
  put_be64(raw.data() + 9, static_cast<uint64_t>(claim.expires));
  // Cannot fail short of OpenSSL running out of memory; the all-zero
  // signature left then is refused when the cookie comes back.
  sign(key_, raw.data(), raw.data() + kBodySize);
  return to_base64url(raw);
}

CookieVerdict StickyCookieCodec::decode(std::string_view value, int64_t now_unix) const {
  CookieVerdict v;
  Raw raw{};
  if (!from_base64url(value, raw) || raw[0] != kVersion) return v;
  unsigned char mac[kMacSize] = {};
  if (!sign(key_, raw.data(), mac) || CRYPTO_memcmp(mac, raw.data() + kBodySize, kMacSize) != 0) {
    v.check = CookieCheck::forged;
    return v;
  }
  v.claim.backend_id = get_be64(raw.data() + 1);
  v.claim.expires = static_cast<int64_t>(get_be64(raw.data() + 9));
  v.check = now_unix < v.claim.expires ? CookieCheck::valid : CookieCheck::expired;
  return v;
}

}  // namespace lb::session
