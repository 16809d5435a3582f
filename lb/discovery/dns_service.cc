#include "lb/discovery/dns_service.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "lb/balance/backend.h"
#include "lb/discovery/dns_answer.h"
#include "lb/discovery/pool_members.h"

namespace lb::discovery {
namespace {

// The shortest time between two lookups of one name, whatever the TTL.
constexpr Duration kFloor = std::chrono::seconds(1);
// A host name that failed is tried again this soon (or at its interval).
constexpr Duration kRetryAfterFailure = std::chrono::seconds(5);
// Member names listed in one log line; the rest are counted.
constexpr size_t kLoggedNames = 8;

bool is_ip_literal(const std::string& host) {
  in_addr v4{};
  in6_addr v6{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

bool same_resolver(const config::ResolverConfig& a, const config::ResolverConfig& b) {
  if (a.timeout != b.timeout || a.nameservers.size() != b.nameservers.size()) return false;
  for (size_t i = 0; i < a.nameservers.size(); ++i)
    if (a.nameservers[i].text != b.nameservers[i].text) return false;
  return true;
}

bool same_name(const config::Discovery& a, const config::Discovery& b) {
  return a.name == b.name && a.type == b.type && a.port == b.port;
}

const char* type_name(config::DiscoveryType t) {
  switch (t) {
    case config::DiscoveryType::a: return "A";
    case config::DiscoveryType::aaaa: return "AAAA";
    case config::DiscoveryType::srv: return "SRV";
  }
  return "?";
}

bool same_ip(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
  if (a.ss_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                       &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, sizeof(in6_addr)) == 0;
  return false;
}

sockaddr_storage with_port(sockaddr_storage ss, uint16_t port) {
  if (ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
  if (ss.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
  return ss;
}

// The address to use from an answer: the one in use while the answer still
// holds it (round-robin DNS must not move a backend at every lookup), else
// the first IPv4 one, else the first.
sockaddr_storage pick_address(const std::vector<sockaddr_storage>& answer, const sockaddr_storage& current) {
  for (const auto& a : answer)
    if (same_ip(a, current)) return current;
  for (const auto& a : answer)
    if (a.ss_family == AF_INET) return a;
  return answer.empty() ? sockaddr_storage{} : answer.front();
}

std::string names(const std::vector<std::shared_ptr<balance::Backend>>& backends) {
  std::string out;
  for (size_t i = 0; i < backends.size() && i < kLoggedNames; ++i) out += (i ? " " : "") + backends[i]->name();
  if (backends.size() > kLoggedNames) out += fmt::format(" and {} more", backends.size() - kLoggedNames);
  return out;
}

}  // namespace

struct DnsService::HostEntry {
  uint64_t id = 0;
  std::string pool;
  std::shared_ptr<balance::Backend> backend;
  Duration interval{};
  TimePoint due{};
  bool in_flight = false;
  bool looked_up = false;
  std::string last_error;  // logged once per change
};

struct DnsService::PoolEntry {
  uint64_t id = 0;
  std::string pool;
  config::Discovery spec;
  TimePoint due{};
  bool in_flight = false;
  bool looked_up = false;
  bool has_members = false;  // later additions are new members: slow start, checks first
  std::string last_error;
  size_t last_dropped = 0;
};

DnsService::DnsService(uv_loop_t* loop, Current current, Publish publish)
    : loop_(loop), current_(std::move(current)), publish_(std::move(publish)) {
  tick_.init(loop_, uv_timer_init);
  tick_->data = this;
  uv_timer_start(
      tick_.get(), [](uv_timer_t* t) { static_cast<DnsService*>(t->data)->tick(); }, to_uv_ms(kFloor),
      to_uv_ms(kFloor));
}

DnsService::~DnsService() { stop(); }

void DnsService::stop() {
  resolver_.reset();  // pending lookups end without their callbacks
  tick_.close();
  hosts_.clear();
  pools_.clear();
}

bool DnsService::update(const proxy::Snapshot& snapshot, std::string* error) {
  std::vector<std::unique_ptr<HostEntry>> hosts;
  std::vector<std::unique_ptr<PoolEntry>> pools;
  for (const proxy::PoolRuntime& p : snapshot.pools) {
    const config::PoolConfig& pc = *p.config;
    if (pc.discovery) {
      std::unique_ptr<PoolEntry> e;
      for (auto& old : pools_)
        if (old && old->pool == pc.name && same_name(old->spec, *pc.discovery)) e = std::move(old);
      if (!e) {
        e = std::make_unique<PoolEntry>();
        e->id = next_id_++;
        e->pool = pc.name;
        e->has_members = !p.backends.empty();
      }
      e->spec = *pc.discovery;
      pools.push_back(std::move(e));
      continue;
    }
    for (const auto& b : p.backends) {
      if (is_ip_literal(b->address().host)) continue;
      std::unique_ptr<HostEntry> e;
      for (auto& old : hosts_)
        if (old && old->pool == pc.name && old->backend == b) e = std::move(old);
      if (!e) {
        e = std::make_unique<HostEntry>();
        e->id = next_id_++;
        e->pool = pc.name;
        e->backend = b;
      }
      e->interval = pc.resolve_interval;
      hosts.push_back(std::move(e));
    }
  }
  // A file without names needs no resolver (nor resolv.conf).
  const config::Config& c = *snapshot.config;
  bool ok = true;
  if ((!hosts.empty() || !pools.empty()) && (!resolver_ || !same_resolver(resolver_config_, c.resolver))) {
    if (auto fresh = Resolver::create(loop_, c.resolver, error)) {
      resolver_ = std::move(fresh);  // the old one's lookups end unanswered: ask again now
      resolver_config_ = c.resolver;
      for (auto& e : hosts) e->in_flight = false, e->due = TimePoint{};
      for (auto& e : pools) e->in_flight = false, e->due = TimePoint{};
    } else {
      ok = false;  // the running resolver, if any, goes on with the new names
    }
  }
  hosts_ = std::move(hosts);  // lookups of entries dropped here are ignored when they answer
  pools_ = std::move(pools);
  tick();
  return ok;
}

bool DnsService::settled() const {
  return std::all_of(hosts_.begin(), hosts_.end(), [](const auto& e) { return e->looked_up; }) &&
         std::all_of(pools_.begin(), pools_.end(), [](const auto& e) { return e->looked_up; });
}

void DnsService::tick() {
  if (!resolver_) return;
  const TimePoint now = Clock::now();
  // By index: an answer may arrive while a lookup starts (a name in
  // /etc/hosts), but nothing here adds or removes entries.
  for (size_t i = 0; i < hosts_.size(); ++i)
    if (!hosts_[i]->in_flight && hosts_[i]->due <= now) start_host(*hosts_[i]);
  for (size_t i = 0; i < pools_.size(); ++i)
    if (!pools_[i]->in_flight && pools_[i]->due <= now) start_pool(*pools_[i]);
}

DnsService::HostEntry* DnsService::find_host(uint64_t id) {
  for (auto& e : hosts_)
    if (e->id == id) return e.get();
  return nullptr;
}

DnsService::PoolEntry* DnsService::find_pool(uint64_t id) {
  for (auto& e : pools_)
    if (e->id == id) return e.get();
  return nullptr;
}

void DnsService::start_host(HostEntry& e) {
  e.in_flight = true;
  const uint64_t id = e.id;
  resolver_->resolve_host(e.backend->address().host, [this, id](HostAnswer a) { host_answered(id, std::move(a)); });
}

void DnsService::host_answered(uint64_t id, HostAnswer answer) {
  HostEntry* e = find_host(id);
  if (!e) return;  // the backend left with a reload
  e->in_flight = false;
  e->looked_up = true;
  const TimePoint now = Clock::now();
  balance::Backend& b = *e->backend;
  stats_.count(e->pool, answer.ok());
  if (!answer.ok()) {
    if (answer.error != e->last_error) {
      const sockaddr_storage kept = b.sockaddr();
      spdlog::warn("pool {} backend {}: {} does not resolve: {}; {}", e->pool, b.name(), b.address().host,
                   answer.error,
                   kept.ss_family == AF_UNSPEC ? "it gets no requests until it does"
                                               : "keeping " + endpoint_text(kept, b.address().port));
      e->last_error = answer.error;
    }
    e->due = now + std::max(kFloor, std::min(e->interval, kRetryAfterFailure));
    return;
  }
  const sockaddr_storage current = b.sockaddr();
  const sockaddr_storage chosen = with_port(pick_address(answer.addresses, current), b.address().port);
  if (!same_ip(chosen, current)) {
    b.set_sockaddr(chosen);
    spdlog::info("pool {} backend {}: {} now resolves to {}{}", e->pool, b.name(), b.address().host,
                 endpoint_text(chosen, b.address().port),
                 current.ss_family == AF_UNSPEC ? "" : " (was " + endpoint_text(current, b.address().port) + ")");
  }
  if (!e->last_error.empty()) {
    if (same_ip(chosen, current))
      spdlog::info("pool {} backend {}: {} resolves again", e->pool, b.name(), b.address().host);
    e->last_error.clear();
  }
  Duration next = e->interval;
  if (answer.ttl.count() > 0)
    next = std::min(next, std::max<Duration>(kFloor, std::chrono::duration_cast<Duration>(answer.ttl)));
  e->due = now + next;
}

void DnsService::start_pool(PoolEntry& e) {
  e.in_flight = true;
  const uint64_t id = e.id;
  const config::DiscoveryType type = e.spec.type;
  const uint16_t port = e.spec.port;
  if (type == config::DiscoveryType::srv) {
    resolver_->query(e.spec.name, ns_t_srv, [this, id](RawAnswer raw) {
      if (!raw.ok()) return pool_answered(id, {}, raw.error);
      SrvRecords parsed = parse_srv_answer(raw.bytes);
      if (!parsed.error.empty()) return pool_answered(id, {}, parsed.error);
      if (parsed.refused) spdlog::debug("SRV answer: {} record(s) with an unusable target left out", parsed.refused);
      resolve_srv_targets(id, std::move(parsed.records));
    });
    return;
  }
  resolver_->query(e.spec.name, type == config::DiscoveryType::a ? ns_t_a : ns_t_aaaa,
                   [this, id, type, port](RawAnswer raw) {
                     if (!raw.ok()) return pool_answered(id, {}, raw.error);
                     AddressRecords parsed = parse_address_answer(raw.bytes, type);
                     if (!parsed.error.empty()) return pool_answered(id, {}, parsed.error);
                     pool_answered(id, members_from_addresses(parsed.addresses, port), "");
                   });
}

void DnsService::resolve_srv_targets(uint64_t id, std::vector<SrvRecord> records) {
  records = preferred_srv(std::move(records));
  // The same stable order and cap as the member list: at most kMaxMembers
  // target lookups per answer, however many records it held.
  std::sort(records.begin(), records.end(), [](const SrvRecord& a, const SrvRecord& b) {
    return std::tie(a.target, a.port) < std::tie(b.target, b.port);
  });
  size_t dropped = 0;
  if (records.size() > kMaxMembers) {
    dropped = records.size() - kMaxMembers;
    records.resize(kMaxMembers);
  }
  struct Gather {
    std::vector<SrvRecord> records;
    std::vector<sockaddr_storage> addresses;
    size_t left;
    size_t dropped;
  };
  auto g = std::make_shared<Gather>(Gather{std::move(records), {}, 0, dropped});
  g->addresses.resize(g->records.size());
  g->left = g->records.size();
  auto done = [this, id, g] {
    // A target that does not resolve now keeps the address its member had.
    if (PoolEntry* e = find_pool(id)) {
      auto snap = current_();
      for (const proxy::PoolRuntime& p : snap->pools) {
        if (p.config->name != e->pool) continue;
        for (size_t i = 0; i < g->records.size(); ++i) {
          if (g->addresses[i].ss_family != AF_UNSPEC) continue;
          const std::string name = fmt::format("{}:{}", g->records[i].target, g->records[i].port);
          for (const auto& b : p.backends)
            if (b->name() == name) g->addresses[i] = b->sockaddr();
        }
      }
    }
    MemberList list = members_from_srv(g->records, g->addresses);
    list.dropped += g->dropped;
    pool_answered(id, std::move(list), "");
  };
  if (g->records.empty()) return pool_answered(id, {}, "no usable SRV record");
  for (size_t i = 0; i < g->records.size(); ++i) {
    resolver_->resolve_host(g->records[i].target, [g, i, done](HostAnswer a) {
      if (a.ok()) g->addresses[i] = pick_address(a.addresses, sockaddr_storage{});
      if (--g->left == 0) done();
    });
  }
}

void DnsService::pool_answered(uint64_t id, MemberList list, std::string error) {
  PoolEntry* e = find_pool(id);
  if (!e) return;
  e->in_flight = false;
  e->looked_up = true;
  e->due = Clock::now() + std::max(kFloor, e->spec.interval);
  if (error.empty() && list.members.empty()) error = "no member resolved";
  stats_.count(e->pool, error.empty());
  if (!error.empty()) {
    if (error != e->last_error) {
      spdlog::warn("pool {}: DNS discovery of {} ({}) failed: {}; keeping the members it has", e->pool, e->spec.name,
                   type_name(e->spec.type), error);
      e->last_error = error;
    }
    return;
  }
  if (!e->last_error.empty()) {
    spdlog::info("pool {}: DNS discovery of {} ({}) answers again", e->pool, e->spec.name, type_name(e->spec.type));
    e->last_error.clear();
  }
  if (list.dropped != e->last_dropped) {
    if (list.dropped)
      spdlog::warn("pool {}: DNS discovery of {} found {} members more than the {} a pool may have; those are left out",
                   e->pool, e->spec.name, list.dropped, kMaxMembers);
    e->last_dropped = list.dropped;
  }
  apply_members(*e, list);
}

void DnsService::apply_members(PoolEntry& e, const MemberList& list) {
  const auto snap = current_();
  for (size_t i = 0; i < snap->pools.size(); ++i) {
    const proxy::PoolRuntime& p = snap->pools[i];
    const config::PoolConfig& pc = *p.config;
    if (pc.name != e.pool || !pc.discovery || !same_name(*pc.discovery, e.spec)) continue;
    MemberChange change = diff_members(p.backends, list.members);
    for (const auto& u : change.updates) {
      u.backend->set_weight(u.weight);
      u.backend->set_sockaddr(u.sockaddr);
    }
    const TimePoint now = Clock::now();
    for (const auto& b : change.added) {
      b->set_slow_start(pc.slow_start);
      if (!e.has_members) continue;  // the first answer is like a start: members are in service at once
      b->mark_recovered(now);
      if (pc.health_check) {
        b->set_healthy(false);
        b->set_active_reason("found by DNS; waiting for passing checks");
      }
    }
    e.has_members = e.has_members || !change.backends.empty();
    if (!change.membership_changed()) return;
    spdlog::info("pool {}: DNS discovery of {} ({}): {} member(s){}{}", e.pool, e.spec.name, type_name(e.spec.type),
                 change.backends.size(), change.added.empty() ? "" : "; added " + names(change.added),
                 change.removed.empty() ? "" : "; removed (in-flight requests finish) " + names(change.removed));
    publish_(with_members(*snap, i, std::move(change.backends)));
    return;
  }
}

}  // namespace lb::discovery
