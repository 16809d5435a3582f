// A pool's `session:` section: affinity mode and the sticky cookie.
#include "lb/config/sections.h"
#include "lb/session/sticky_key.h"

namespace lb::config::yaml {
namespace {

// Returns the secret_file field, if present, for errors about the key file.
std::optional<Field> read_cookie(const Field& field, StickyCookie& c) {
  MapReader m(field);
  assign(m.get("name"), c.name, as_token);
  if (auto ttl = assign(m.get("ttl"), c.ttl, as_positive_duration); ttl && c.ttl < std::chrono::seconds(1))
    ttl->error("must be at least 1s (cookies count in whole seconds)");
  auto secret_file = assign(m.get("secret_file"), c.secret_file, as_string);
  auto secure = assign(m.get("secure"), c.secure, as_bool);
  assign(m.get("http_only"), c.http_only, as_bool);
  auto same_site = assign(m.get("same_site"), c.same_site,
                          one_of<std::string>({{"Strict", "Strict"}, {"Lax", "Lax"}, {"None", "None"}}));
  // Browsers drop a SameSite=None cookie that is not also Secure.
  if (same_site && c.same_site == "None" && !c.secure)
    (secure ? *secure : *same_site).error("SameSite=None needs secure: true (browsers drop the cookie otherwise)");
  return secret_file;
}

}  // namespace

SessionConfig read_session(const Field& field) {
  SessionConfig s;
  MapReader m(field);
  assign(m.get("mode"), s.mode,
         one_of<SessionMode>(
             {{"none", SessionMode::none}, {"sticky", SessionMode::sticky}, {"passthrough", SessionMode::passthrough}}));
  auto cookie = m.get("cookie");
  std::optional<Field> secret_file;
  if (cookie) secret_file = read_cookie(*cookie, s.cookie);
  if (s.mode != SessionMode::sticky) return s;
  // Without a key there is nothing to sign cookies with.
  if (s.cookie.secret_file.empty()) {
    const Field& at = secret_file ? *secret_file : cookie ? *cookie : m.self();
    at.diag->error(at.at, m.self().child_path("cookie.secret_file"), "is required when mode is sticky");
    return s;
  }
  // Read now, so that --check, start-up and reload all refuse a bad key the
  // same way, at the key that names it; the running snapshot keeps the
  // bytes read here, and a reload reads the file again (key rotation).
  session::StickyKeyFile key = session::read_sticky_key(s.cookie.secret_file);
  if (key.ok()) {
    s.cookie.key = std::move(key.key);
  } else {
    secret_file->error(key.error);
  }
  return s;
}

}  // namespace lb::config::yaml
