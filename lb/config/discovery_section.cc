// The DNS parts of the config file: top-level `resolver` and a pool's
// `discovery` (lb/discovery reads them at run time).
#include <arpa/inet.h>

#include "lb/config/sections.h"

namespace lb::config::yaml {
namespace {

// c-ares takes servers as IP literals: a name here would need a resolver
// to find the resolver.
std::optional<Address> as_nameserver(const Field& f) {
  auto a = as_address(f);
  if (!a) return std::nullopt;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, a->host.c_str(), &v4) != 1 && inet_pton(AF_INET6, a->host.c_str(), &v6) != 1) {
    f.error("a nameserver must be an IP address with a port, e.g. 127.0.0.1:53 or [::1]:53");
    return std::nullopt;
  }
  return a;
}

// A DNS name as c-ares sends it: at most 253 characters, labels of 1..63
// letters, digits, '-' or '_' (SRV names such as _http._tcp.example.com).
std::optional<std::string> as_dns_name(const Field& f) {
  auto text = as_non_empty_string(f);
  if (!text) return std::nullopt;
  std::string name = *text;
  if (name.back() == '.') name.pop_back();
  bool ok = !name.empty() && name.size() <= 253;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      ok = ok && label > 0;
      label = 0;
      continue;
    }
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
    ok = ok && ++label <= 63;
  }
  ok = ok && label > 0;
  if (!ok) {
    f.error("'" + *text + "' is not a DNS name (labels of 1..63 letters, digits, '-' or '_'; 253 characters at most)");
    return std::nullopt;
  }
  return name;
}

}  // namespace

Place place_of(const Field& field) {
  const bool placed = field.at.line >= 0;
  return Place{placed ? field.at.line + 1 : 0, placed ? field.at.column + 1 : 0, field.path};
}

ResolverConfig read_resolver(const Field& field) {
  ResolverConfig r;
  MapReader m(field);
  if (auto f = m.get("nameservers"))
    for_each_item(*f, Empty::allowed, [&](const Field& item) {
      if (auto a = as_nameserver(item)) r.nameservers.push_back(std::move(*a));
    });
  assign(m.get("timeout"), r.timeout, as_positive_duration);
  return r;
}

Discovery read_discovery(const Field& field) {
  Discovery d;
  MapReader m(field);
  if (auto f = assign(m.require("name"), d.name, as_dns_name)) d.name_at = place_of(*f);
  assign(m.get("type"), d.type,
         one_of<DiscoveryType>({{"A", DiscoveryType::a}, {"AAAA", DiscoveryType::aaaa}, {"SRV", DiscoveryType::srv}}));
  auto port = assign(m.get("port"), d.port, integer_in(0, 65535));
  if (d.type == DiscoveryType::srv && d.port != 0 && port)
    port->error("SRV records carry their own ports: leave port out");
  if (d.type != DiscoveryType::srv && d.port == 0)
    field.diag->error(port ? port->at : field.at, m.self().child_path("port"),
                      "must be 1..65535 for type A or AAAA (the port of every address found)");
  // A lookup more often than every second would only load the DNS server.
  if (auto f = assign(m.get("interval"), d.interval, as_positive_duration); f && d.interval < std::chrono::seconds(1))
    f->error("must be 1s or more");
  return d;
}

}  // namespace lb::config::yaml
