#include "lb/tls/tls_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lb::tls {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kContextDataDir = std::string(LBD_TEST_DATA_DIR) + "/tls";

config::TlsConfig pairs(std::initializer_list<const char*> names) {
  config::TlsConfig c;
  for (const char* n : names) c.certificates.push_back({kContextDataDir + "/" + n + ".pem", kContextDataDir + "/" + n + ".key"});
  return c;
}

std::string subject_cn(SSL_CTX* ctx) {
  if (!ctx) return "(default)";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(SSL_CTX_get0_certificate(ctx)), NID_commonName, cn, sizeof cn);
  return cn;
}

TEST(TlsContext, ReadsNamesFromSubjectAltNameOrCommonName) {
  auto t = TlsContext::create(pairs({"site", "wild", "cn_only"}));
  EXPECT_THAT(t->names(), ElementsAre(ElementsAre("example.com", "www.example.com"), ElementsAre("*.example.org"),
                                      ElementsAre("cn-only.test")));
  EXPECT_EQ(subject_cn(t->initial()), "example.com");  // the first certificate is the default
}

TEST(TlsContext, ServerNamePicksExactThenWildcardElseDefault) {
  auto t = TlsContext::create(pairs({"site", "wild", "cn_only"}));
  EXPECT_EQ(subject_cn(t->for_server_name("www.example.com")), "example.com");
  EXPECT_EQ(subject_cn(t->for_server_name("WWW.Example.COM.")), "example.com");  // case, trailing dot
  EXPECT_EQ(subject_cn(t->for_server_name("api.example.org")), "*.example.org");
  EXPECT_EQ(subject_cn(t->for_server_name("cn-only.test")), "cn-only.test");
  // A wildcard covers one label only, and not the bare parent.
  EXPECT_EQ(subject_cn(t->for_server_name("a.b.example.org")), "(default)");
  EXPECT_EQ(subject_cn(t->for_server_name("example.org")), "(default)");
  EXPECT_EQ(subject_cn(t->for_server_name("unknown.test")), "(default)");
}

TEST(TlsContext, ExactNameWinsOverWildcardWhateverTheOrder) {
  auto t = TlsContext::create(pairs({"wild", "site"}));
  EXPECT_EQ(subject_cn(t->for_server_name("example.com")), "example.com");
  EXPECT_EQ(subject_cn(t->initial()), "*.example.org");
}

TEST(TlsContext, UnusableFilesThrowNamingTheFile) {
  config::TlsConfig mismatched;
  mismatched.certificates.push_back({kContextDataDir + "/site.pem", kContextDataDir + "/other.key"});
  try {
    TlsContext::create(mismatched);
    FAIL() << "a key of another certificate was accepted";
  } catch (const TlsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("private key '" + kContextDataDir + "/other.key' does not match certificate '" + kContextDataDir +
                                    "/site.pem'"));
  }
  config::TlsConfig missing;
  missing.certificates.push_back({kContextDataDir + "/nope.pem", kContextDataDir + "/site.key"});
  EXPECT_THROW(TlsContext::create(missing), TlsError);
}

TEST(TlsContext, CheckCertificatePairSaysWhichFile) {
  EXPECT_FALSE(check_certificate_pair(kContextDataDir + "/site.pem", kContextDataDir + "/site.key").has_value());
  auto wrong_key = check_certificate_pair(kContextDataDir + "/site.pem", kContextDataDir + "/wild.key");
  ASSERT_TRUE(wrong_key.has_value());
  EXPECT_TRUE(wrong_key->in_key);
  auto not_pem = check_certificate_pair(kContextDataDir + "/README", kContextDataDir + "/site.key");
  ASSERT_TRUE(not_pem.has_value());
  EXPECT_FALSE(not_pem->in_key);
  EXPECT_THAT(not_pem->message, HasSubstr(kContextDataDir + "/README"));
  auto encrypted = check_certificate_pair(kContextDataDir + "/site.pem", kContextDataDir + "/encrypted.key");
  ASSERT_TRUE(encrypted.has_value());
  EXPECT_TRUE(encrypted->in_key);
}

TEST(TlsContext, TicketKeysCanBeCarriedOver) {
  auto first = TlsContext::create(pairs({"site"}));
  auto second = TlsContext::create(pairs({"site"}), first->ticket_keys());
  EXPECT_EQ(first->ticket_keys(), second->ticket_keys());
  EXPECT_NE(TlsContext::create(pairs({"site"}))->ticket_keys(), first->ticket_keys());
}

}  // namespace
}  // namespace lb::tls
