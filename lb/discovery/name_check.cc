#include "lb/discovery/name_check.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <uv.h>

#include <fmt/format.h>

#include "lb/discovery/dns_answer.h"
#include "lb/discovery/resolver.h"

namespace lb::discovery {
namespace {

bool is_ip_literal(const std::string& host) {
  in_addr v4{};
  in6_addr v6{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

config::ConfigError error_at(const config::Config& c, const config::Place& at, std::string message) {
  return config::ConfigError{c.source_file, at.line, at.column, at.key_path, std::move(message)};
}

}  // namespace

std::vector<config::ConfigError> check_names(const config::Config& c) {
  std::vector<config::ConfigError> errors;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    std::string why;
    auto resolver = Resolver::create(&loop, c.resolver, &why);
    if (!resolver) {
      errors.push_back(config::ConfigError{c.source_file, 0, 0, "resolver", why});
    } else {
      for (const config::PoolConfig& p : c.pools) {
        if (p.discovery) {
          const config::Discovery d = *p.discovery;
          const int type = d.type == config::DiscoveryType::srv    ? ns_t_srv
                           : d.type == config::DiscoveryType::aaaa ? ns_t_aaaa
                                                                   : ns_t_a;
          resolver->query(d.name, type, [&errors, &c, d](RawAnswer raw) {
            std::string why = raw.error;
            if (why.empty())
              why = d.type == config::DiscoveryType::srv ? parse_srv_answer(raw.bytes).error
                                                         : parse_address_answer(raw.bytes, d.type).error;
            if (!why.empty())
              errors.push_back(error_at(c, d.name_at, fmt::format("'{}' does not resolve: {}", d.name, why)));
          });
        }
        for (const config::BackendConfig& b : p.backends) {
          if (is_ip_literal(b.address.host)) continue;
          resolver->resolve_host(b.address.host, [&errors, &c, b](HostAnswer a) {
            if (!a.ok())
              errors.push_back(
                  error_at(c, b.address_at, fmt::format("host name '{}' does not resolve: {}", b.address.host, a.error)));
          });
        }
      }
      while (resolver->pending() > 0) uv_run(&loop, UV_RUN_ONCE);
    }
  }  // the resolver closes its handles here
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  std::sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return errors;
}

}  // namespace lb::discovery
