// A pool's `session:` section: affinity mode and the sticky cookie.
#include "lb/config/sections.h"

namespace lb::config::yaml {
namespace {

void read_cookie(const Field& field, StickyCookie& c) {
  MapReader m(field);
  assign(m.get("name"), c.name, as_token);
  assign(m.get("ttl"), c.ttl, as_positive_duration);
  assign(m.get("secret_file"), c.secret_file, as_string);
  assign(m.get("secure"), c.secure, as_bool);
  assign(m.get("http_only"), c.http_only, as_bool);
  assign(m.get("same_site"), c.same_site,
         one_of<std::string>({{"Strict", "Strict"}, {"Lax", "Lax"}, {"None", "None"}}));
}

}  // namespace

SessionConfig read_session(const Field& field) {
  SessionConfig s;
  MapReader m(field);
  assign(m.get("mode"), s.mode,
         one_of<SessionMode>(
             {{"none", SessionMode::none}, {"sticky", SessionMode::sticky}, {"passthrough", SessionMode::passthrough}}));
  auto cookie = m.get("cookie");
  if (cookie) read_cookie(*cookie, s.cookie);
  // The key's content is checked by the session module; without one there
  // is nothing to sign cookies with.
  if (s.mode == SessionMode::sticky && s.cookie.secret_file.empty()) {
    const Field& at = cookie ? *cookie : m.self();
    at.diag->error(at.at, m.self().child_path("cookie.secret_file"), "is required when mode is sticky");
  }
  return s;
}

}  // namespace lb::config::yaml
