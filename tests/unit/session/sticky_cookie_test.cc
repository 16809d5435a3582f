#include "lb/session/sticky_cookie.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/hmac.h>

#include <set>
#include <thread>
#include <vector>

namespace lb::session {
namespace {

const std::string kKey(32, 'k');
constexpr int64_t kCookieNow = 1'800'000'000;  // 2027-01-15

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

TEST(StickyCookie, RoundTripsBackendAndExpiry) {
  const StickyCookieCodec codec(kKey);
  for (uint64_t id : {uint64_t{0}, uint64_t{1}, sticky_backend_id("app", "app1"), ~uint64_t{0}}) {
    const std::string v = codec.encode({id, kCookieNow + 1800});
    const CookieVerdict d = codec.decode(v, kCookieNow);
    ASSERT_EQ(d.check, CookieCheck::valid) << v;
    EXPECT_EQ(d.claim.backend_id, id);
    EXPECT_EQ(d.claim.expires, kCookieNow + 1800);
  }
}

TEST(StickyCookie, ValueIsFixedSizeUrlSafeAndNeedsNoQuoting) {
  const StickyCookieCodec codec(kKey);
  for (int i = 0; i < 200; ++i) {
    const std::string v = codec.encode({sticky_backend_id("p", std::to_string(i)), kCookieNow + i});
    ASSERT_EQ(v.size(), StickyCookieCodec::kEncodedSize);
    for (char c : v) ASSERT_TRUE(base64url_char(c)) << v;
  }
}

TEST(StickyCookie, ValueDoesNotContainTheBackendNameOrAddress) {
  const StickyCookieCodec codec(kKey);
  const std::string v = codec.encode({sticky_backend_id("app", "app1"), kCookieNow});
  EXPECT_EQ(v.find("app"), std::string::npos);
  EXPECT_EQ(v.find("127"), std::string::npos);
}

TEST(StickyCookie, AnotherKeyMakesItForged) {
  const std::string v = StickyCookieCodec(kKey).encode({7, kCookieNow + 60});
  const CookieVerdict d = StickyCookieCodec(std::string(32, 'K')).decode(v, kCookieNow);
  EXPECT_EQ(d.check, CookieCheck::forged);
}

TEST(StickyCookie, SameKeyInAnotherCodecAccepts) {  // what lets replicas share cookies
  const std::string v = StickyCookieCodec(kKey).encode({7, kCookieNow + 60});
  EXPECT_EQ(StickyCookieCodec(kKey).decode(v, kCookieNow).check, CookieCheck::valid);
}

TEST(StickyCookie, EveryAlteredCharacterIsRejected) {
  const StickyCookieCodec codec(kKey);
  const std::string v = codec.encode({sticky_backend_id("app", "app1"), kCookieNow + 600});
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < v.size(); ++i) {
    for (char c : alphabet) {
      if (c == v[i]) continue;
      std::string t = v;
      t[i] = c;
      const CookieCheck check = codec.decode(t, kCookieNow).check;
      ASSERT_TRUE(check == CookieCheck::forged || check == CookieCheck::malformed)
          << "position " << i << " -> " << c << ": " << check_name(check);
    }
  }
}

TEST(StickyCookie, TruncatedOrExtendedIsMalformed) {
  const StickyCookieCodec codec(kKey);
  const std::string v = codec.encode({1, kCookieNow + 600});
  for (size_t n = 0; n < v.size(); ++n) EXPECT_EQ(codec.decode(v.substr(0, n), kCookieNow).check, CookieCheck::malformed) << n;
  EXPECT_EQ(codec.decode(v + "A", kCookieNow).check, CookieCheck::malformed);
  EXPECT_EQ(codec.decode(v + "==", kCookieNow).check, CookieCheck::malformed);
}

TEST(StickyCookie, StandardBase64AlphabetAndJunkAreMalformed) {
  const StickyCookieCodec codec(kKey);
  std::string v = codec.encode({1, kCookieNow + 600});
  for (char bad : {'+', '/', '=', '.', ' ', '"', '\0', '\xff'}) {
    std::string t = v;
    t[10] = bad;
    EXPECT_EQ(codec.decode(t, kCookieNow).check, CookieCheck::malformed) << int(bad);
  }
  EXPECT_EQ(codec.decode(std::string(66, 'A'), kCookieNow).check, CookieCheck::malformed);  // version 0
}

TEST(StickyCookie, NonCanonicalLastCharacterIsMalformed) {
  // The last of 66 characters carries 2 bits; the other 4 must be zero.
  const StickyCookieCodec codec(kKey);
  const std::string v = codec.encode({1, kCookieNow + 600});
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t bits = alphabet.find(v.back());
  ASSERT_EQ(bits & 0x0f, 0u);
  std::string t = v;
  t.back() = alphabet[bits | 1];
  EXPECT_EQ(codec.decode(t, kCookieNow).check, CookieCheck::malformed);
}

TEST(StickyCookie, ExpiresAtItsExpirySecond) {
  const StickyCookieCodec codec(kKey);
  const std::string v = codec.encode({1, kCookieNow + 10});
  EXPECT_EQ(codec.decode(v, kCookieNow + 9).check, CookieCheck::valid);
  const CookieVerdict at = codec.decode(v, kCookieNow + 10);
  EXPECT_EQ(at.check, CookieCheck::expired);
  EXPECT_EQ(at.claim.expires, kCookieNow + 10);
  EXPECT_EQ(codec.decode(v, kCookieNow + 100000).check, CookieCheck::expired);
}

TEST(StickyCookie, ExpiredButForgedIsForged) {
  // The signature is checked first: an unauthenticated expiry means nothing.
  const std::string v = StickyCookieCodec(std::string(32, 'x')).encode({1, kCookieNow - 10});
  EXPECT_EQ(StickyCookieCodec(kKey).decode(v, kCookieNow).check, CookieCheck::forged);
}

// The signature, recomputed with OpenSSL's one-shot HMAC() as a reference.
std::string reference_mac(const std::string& key, const StickyClaim& claim) {
  unsigned char body[17] = {1};
  for (int i = 0; i < 8; ++i) {
    body[1 + i] = static_cast<unsigned char>(claim.backend_id >> (56 - 8 * i));
    body[9 + i] = static_cast<unsigned char>(static_cast<uint64_t>(claim.expires) >> (56 - 8 * i));
  }
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), body, sizeof body, mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

std::string mac_of(const std::string& value) {
  std::string b64(value);
  for (char& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  b64 += "==";
  unsigned char raw[52];
  const int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(b64.data()), int(b64.size()));
  EXPECT_GE(n, 49);
  return std::string(reinterpret_cast<char*>(raw) + 17, 32);
}

TEST(StickyCookie, SignatureIsHmacSha256WhateverTheKeysSigningOnOneThread) {
  // Codecs with different keys (pools, a reload) take turns on one thread:
  // each signature must still be HMAC-SHA256 under its own key.
  const std::vector<std::string> keys = {std::string(32, 'a'), std::string(64, 'b'), std::string(33, 'c'),
                                         std::string(200, 'd')};
  std::vector<StickyCookieCodec> codecs(keys.begin(), keys.end());
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < codecs.size(); ++i) {
      const StickyClaim claim{uint64_t(round * 10 + i), kCookieNow + 1 + round};
      const std::string v = codecs[i].encode(claim);
      EXPECT_EQ(mac_of(v), reference_mac(keys[i], claim)) << i;
      EXPECT_EQ(codecs[i].decode(v, kCookieNow).check, CookieCheck::valid);
      EXPECT_EQ(codecs[(i + 1) % codecs.size()].decode(v, kCookieNow).check, CookieCheck::forged);
    }
  }
}

TEST(StickyCookie, OneCodecSignsOnManyThreadsAtOnce) {
  const StickyCookieCodec codec(kKey);
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const StickyClaim claim{uint64_t(t * 100000 + i), kCookieNow + 60};
        const std::string v = codec.encode(claim);
        if (mac_of(v) != reference_mac(kKey, claim) || codec.decode(v, kCookieNow).check != CookieCheck::valid) ++bad[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

TEST(StickyCookie, BackendIdIsStableAndDependsOnPoolAndName) {
  // Pinned: replicas and later builds must agree on this value.
  EXPECT_EQ(sticky_backend_id("app", "app1"), sticky_backend_id("app", "app1"));
  EXPECT_NE(sticky_backend_id("app", "app1"), sticky_backend_id("app", "app2"));
  EXPECT_NE(sticky_backend_id("app", "app1"), sticky_backend_id("api", "app1"));
  EXPECT_NE(sticky_backend_id("ap", "papp1"), sticky_backend_id("app", "app1"));  // the separator counts
  std::set<uint64_t> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(sticky_backend_id("pool", "backend" + std::to_string(i)));
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(StickyCookie, BackendIdIsXxh64OfPoolNulBackend) {
  // A known answer, so a change of hash (which would void every cookie in
  // the field on upgrade) cannot pass unnoticed. XXH64("app\0app1", seed 0).
  EXPECT_EQ(sticky_backend_id("app", "app1"), 0x0a5fb67f2dce8e79u);
}

}  // namespace
}  // namespace lb::session
