#include "lb/session/sticky_affinity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

namespace lb::session {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kAffinityNow = 1'800'000'000;

config::StickyCookie cookie_config() {
  config::StickyCookie c;
  c.name = "LB";
  c.ttl = std::chrono::minutes(30);
  c.key = std::string(32, 'k');
  return c;
}

balance::BackendList backends(std::initializer_list<const char*> names) {
  balance::BackendList out;
  uint16_t port = 9001;
  for (const char* n : names)
    out.push_back(std::make_shared<balance::Backend>(n, config::Address{"127.0.0.1", port, ""}, 1)), ++port;
  return out;
}

http::HeaderList cookies(std::initializer_list<std::string> values) {
  http::HeaderList h;
  h.add("Host", "x");
  for (const auto& v : values) h.add("Cookie", v);
  return h;
}

// The cookie value inside a Set-Cookie field value.
std::string value_of(const std::string& set_cookie) {
  const size_t eq = set_cookie.find('='), semi = set_cookie.find(';');
  return set_cookie.substr(eq + 1, semi - eq - 1);
}

class StickyAffinityTest : public ::testing::Test {
 protected:
  balance::BackendList list = backends({"app1", "app2", "app3"});
  StickyAffinity sticky{cookie_config(), "app", list};
};

TEST_F(StickyAffinityTest, SetCookieCarriesTheConfiguredAttributes) {
  const std::string sc = sticky.set_cookie(1, kAffinityNow);
  EXPECT_THAT(sc, StartsWith("LB="));
  EXPECT_EQ(sc.substr(3 + StickyCookieCodec::kEncodedSize), "; Path=/; Max-Age=1800; HttpOnly; SameSite=Lax");

  config::StickyCookie c = cookie_config();
  c.secure = true;
  c.http_only = false;
  c.same_site = "Strict";
  c.ttl = std::chrono::hours(2);
  const std::string other = StickyAffinity(c, "app", list).set_cookie(0, kAffinityNow);
  EXPECT_THAT(other, HasSubstr("; Path=/; Max-Age=7200; Secure; SameSite=Strict"));
  EXPECT_THAT(other, ::testing::Not(HasSubstr("HttpOnly")));
}

TEST_F(StickyAffinityTest, ItsOwnCookiePinsEachBackend) {
  for (size_t i = 0; i < list.size(); ++i) {
    const auto pin = sticky.find_pin(cookies({"a=1; LB=" + value_of(sticky.set_cookie(i, kAffinityNow)) + "; b=2"}), kAffinityNow);
    ASSERT_TRUE(pin.has_value()) << i;
    EXPECT_EQ(pin->backend_index, i);
    EXPECT_EQ(pin->expires, kAffinityNow + 1800);
  }
}

TEST_F(StickyAffinityTest, NoCookieOrOtherCookiesPinNothing) {
  EXPECT_FALSE(sticky.find_pin(cookies({}), kAffinityNow));
  EXPECT_FALSE(sticky.find_pin(cookies({"sid=abc; LBX=" + value_of(sticky.set_cookie(0, kAffinityNow))}), kAffinityNow));
}

TEST_F(StickyAffinityTest, ForgedTruncatedExpiredAndUnknownAreIgnored) {
  const std::string good = value_of(sticky.set_cookie(0, kAffinityNow));
  std::string tampered = good;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(sticky.find_pin(cookies({"LB=" + tampered}), kAffinityNow));
  EXPECT_FALSE(sticky.find_pin(cookies({"LB=" + good.substr(0, 40)}), kAffinityNow));
  EXPECT_FALSE(sticky.find_pin(cookies({"LB=" + good}), kAffinityNow + 1800));  // expired
  EXPECT_FALSE(sticky.find_pin(cookies({"LB=garbage"}), kAffinityNow));

  // Signed with our key, but naming a backend this pool does not have.
  const StickyCookieCodec codec(std::string(32, 'k'));
  EXPECT_FALSE(sticky.find_pin(cookies({"LB=" + codec.encode({sticky_backend_id("app", "gone"), kAffinityNow + 60})}), kAffinityNow));
  // A backend of the same name in another pool is another backend.
  EXPECT_FALSE(sticky.find_pin(cookies({"LB=" + codec.encode({sticky_backend_id("api", "app1"), kAffinityNow + 60})}), kAffinityNow));
}

TEST_F(StickyAffinityTest, FirstValidCookieWinsAcrossHeaders) {
  const std::string to2 = value_of(sticky.set_cookie(2, kAffinityNow));
  const std::string to0 = value_of(sticky.set_cookie(0, kAffinityNow));
  const auto pin = sticky.find_pin(cookies({"LB=bad; x=1", "LB=" + to2 + "; LB=" + to0}), kAffinityNow);
  ASSERT_TRUE(pin);
  EXPECT_EQ(pin->backend_index, 2u);
}

TEST_F(StickyAffinityTest, AnotherInstanceWithTheSameKeyAndNamesAgrees) {
  // A second replica: its own Backend objects, other addresses, same names.
  balance::BackendList replica = backends({"app3", "app1", "app2"});  // another order, too
  const StickyAffinity other(cookie_config(), "app", replica);
  const auto pin = other.find_pin(cookies({"LB=" + value_of(sticky.set_cookie(0, kAffinityNow))}), kAffinityNow);
  ASSERT_TRUE(pin);
  EXPECT_EQ(replica[pin->backend_index]->name(), "app1");
}

TEST_F(StickyAffinityTest, CookieIsSetWhenMissingMovedOrPastHalfItsLife) {
  EXPECT_TRUE(sticky.needs_cookie(std::nullopt, 0, kAffinityNow));
  const StickyAffinity::Pin pin{1, kAffinityNow + 1800};
  EXPECT_FALSE(sticky.needs_cookie(pin, 1, kAffinityNow));         // fresh, same backend
  EXPECT_TRUE(sticky.needs_cookie(pin, 2, kAffinityNow));          // served elsewhere: re-pin
  EXPECT_FALSE(sticky.needs_cookie(pin, 1, kAffinityNow + 900));   // exactly half left
  EXPECT_TRUE(sticky.needs_cookie(pin, 1, kAffinityNow + 901));    // less than half left
}

TEST(StickyAffinityPinned, DrainingKeepsPinnedUsersDownMaintAndEjectedDoNot) {
  balance::Backend b("app1", config::Address{"127.0.0.1", 9001, ""}, 1);
  const TimePoint now = Clock::now();
  EXPECT_TRUE(StickyAffinity::accepts_pinned(b, now));
  b.set_admin_state(balance::AdminState::draining);
  EXPECT_TRUE(StickyAffinity::accepts_pinned(b, now));
  EXPECT_FALSE(b.usable_at(now));  // while the balancer sends it no one new
  b.set_admin_state(balance::AdminState::maint);
  EXPECT_FALSE(StickyAffinity::accepts_pinned(b, now));
  b.set_admin_state(balance::AdminState::ready);
  b.set_healthy(false);
  EXPECT_FALSE(StickyAffinity::accepts_pinned(b, now));
  b.set_healthy(true);
  b.eject_until(now + std::chrono::seconds(10));
  EXPECT_FALSE(StickyAffinity::accepts_pinned(b, now));
  EXPECT_TRUE(StickyAffinity::accepts_pinned(b, now + std::chrono::seconds(11)));
}

}  // namespace
}  // namespace lb::session
