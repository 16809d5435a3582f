// The `listeners:` entries of the config file.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "lb/config/route_shadowing.h"
#include "lb/config/cidr.h"
#include "lb/config/sections.h"
#include "lb/tls/tls_context.h"

namespace lb::config::yaml {

// TLS files are opened by the TLS module later; checking them here lets
// `lbd --check` and a reload refuse a file that could never start.
bool check_readable_file(const Field& f, const std::string& path) {
  struct stat st {};
  std::string why;
  if (::stat(path.c_str(), &st) != 0 || ::access(path.c_str(), R_OK) != 0)
    why = std::strerror(errno);
  else if (!S_ISREG(st.st_mode))
    why = "not a regular file";
  if (!why.empty()) f.error("cannot read '" + path + "': " + why);
  return why.empty();
}

namespace {

TlsCertificate read_certificate(const Field& field) {
  TlsCertificate c;
  MapReader m(field);
  auto cert = assign(m.require("cert"), c.cert, as_non_empty_string);
  auto key = assign(m.require("key"), c.key, as_non_empty_string);
  const bool cert_ok = cert && check_readable_file(*cert, c.cert);
  const bool key_ok = key && check_readable_file(*key, c.key);
  // Parse them as the listener will: bad PEM, an encrypted key or a key of
  // another certificate is reported at the key or cert that is wrong.
  if (cert_ok && key_ok)
    if (auto problem = tls::check_certificate_pair(c.cert, c.key)) (problem->in_key ? *key : *cert).error(problem->message);
  return c;
}

TlsConfig read_tls(const Field& field) {
  TlsConfig tls;
  MapReader m(field);
  if (auto f = m.require("certificates"))
    for_each_item(*f, Empty::refused, [&](const Field& item) { tls.certificates.push_back(read_certificate(item)); });
  assign(m.get("min_version"), tls.min_version, one_of<std::string>({{"1.2", "1.2"}, {"1.3", "1.3"}}));
  return tls;
}

}  // namespace

ListenerConfig read_listener(const Field& field, FileScope& scope) {
  ListenerConfig l;
  MapReader m(field);
  if (auto f = assign(m.require("name"), l.name, as_non_empty_string)) scope.listener_names.add(l.name, *f);
  if (auto f = assign(m.require("listen"), l.listen, as_address)) scope.listen_addresses.add(l.listen.text, *f);
  if (auto f = m.get("tls")) l.tls = read_tls(*f);
  if (auto f = m.get("timeouts")) {
    MapReader t(*f);
    assign(t.get("header"), l.timeouts.header, as_positive_duration);
    assign(t.get("idle"), l.timeouts.idle, as_positive_duration);
    assign(t.get("send"), l.timeouts.send, as_positive_duration);
  }
  if (auto f = m.get("limits")) {
    MapReader lim(*f);
    assign(lim.get("max_header_bytes"), l.limits.max_header_bytes, as_positive_size);
    assign(lim.get("max_body_bytes"), l.limits.max_body_bytes, as_size);  // 0 = unlimited
    assign(lim.get("max_connections"), l.limits.max_connections, integer_in(1, 10'000'000));
  }
  if (auto f = m.get("http2")) {
    MapReader h2(*f);
    assign(h2.get("enabled"), l.http2.enabled, as_bool);
    // RFC 9113 §6.5.2: 100 is the least a peer should allow; past 1000 one
    // connection could pin that many backend requests.
    assign(h2.get("max_concurrent_streams"), l.http2.max_concurrent_streams, integer_in(1, 1000));
    // 16 KiB (one frame) up to 2^31-1 (RFC 9113 §6.9.2).
    if (auto w = h2.get("initial_window")) {
      uint64_t bytes = 0;
      if (assign(w, bytes, as_positive_size)) {
        if (bytes < 16 * 1024 || bytes > 0x7fffffffu) w->error("must be 16KiB to 2GiB-1");
        else l.http2.initial_window = uint32_t(bytes);
      }
    }
  }
  if (auto f = m.get("rate_limit")) {
    MapReader rl(*f);
    auto rps = assign(rl.get("rps"), l.rate_limit.rps, as_number);
    // A million a second is past what one client can get through lbd, and
    // keeps the limiter's microsecond schedule exact enough.
    if (rps && (l.rate_limit.rps < 0 || l.rate_limit.rps > 1e6)) rps->error("must be 0 (off) to 1000000 requests a second");
    auto burst = assign(rl.get("burst"), l.rate_limit.burst, integer_in(0, 1'000'000));
    if (burst && l.rate_limit.burst > 0 && l.rate_limit.rps == 0)
      burst->error("has no effect without rps; set rps, or remove burst");
  }
  assign(m.get("proxy_protocol"), l.proxy_protocol, as_bool);
  if (auto f = m.get("trusted_proxies"))
    for_each_item(*f, Empty::allowed, [&](const Field& item) {
      auto text = as_non_empty_string(item);
      if (!text) return;
      std::string why;
      if (auto c = parse_cidr(*text, why)) {
        c->text = *text;
        l.trusted_proxies.push_back(*c);
      } else {
        item.error(why);
      }
    });
  if (auto f = m.require("routes")) {
    UniqueNames route_names("route name");
    std::vector<Field> items;
    for_each_item(*f, Empty::refused, [&](const Field& item) {
      l.routes.push_back(read_route(item, scope, route_names));
      items.push_back(item);
    });
    // `lbd --check` warns; the file still loads (the route is harmless).
    for (const RouteShadowing& s : find_shadowed_routes(l.routes))
      items[s.route].diag->warning(items[s.route].at, items[s.route].path, s.message);
  }
  return l;
}

}  // namespace lb::config::yaml
