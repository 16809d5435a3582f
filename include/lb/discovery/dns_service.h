#pragma once
// DNS on the control thread (DESIGN.md §2, issue 15): keeps the addresses
// of host-name backends current and the member lists of discovery pools.
//
//  - A backend whose address is a host name is looked up again every
//    pool.resolve_interval, or sooner when the answer's TTL is shorter (never
//    more often than every second). A new address is stored in the shared
//    Backend (Backend::set_sockaddr): the next connection uses it, requests
//    in flight and idle connections to the old one are left alone.
//  - A discovery pool is looked up every discovery.interval; when the
//    member list changes, a snapshot with that pool's new list is published
//    (like a reload of the pool). Members that stay are the same Backend
//    objects; new ones ramp up under slow start and, in a pool with health
//    checks, wait for passing checks; members that go get no new requests.
//  - A failed lookup keeps the last known addresses and members, is counted
//    (lbd_dns_resolutions_total{result="failure"}) and logged when the
//    error changes, not at every retry.
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lb/config/config.h"
#include "lb/core/time.h"
#include "lb/core/uv_handle.h"
#include "lb/discovery/member_set.h"
#include "lb/discovery/resolver.h"
#include "lb/metrics/dns_stats.h"
#include "lb/proxy/snapshot.h"

namespace lb::discovery {

class DnsService {
 public:
  using Current = std::function<std::shared_ptr<const proxy::Snapshot>()>;
  using Publish = std::function<void(std::shared_ptr<const proxy::Snapshot>)>;

  // `current` reads the running snapshot; `publish` puts a new one in force.
  DnsService(uv_loop_t* loop, Current current, Publish publish);
  ~DnsService();
  DnsService(const DnsService&) = delete;
  DnsService& operator=(const DnsService&) = delete;

  // Follows the snapshot (start, reload, own publications): its host names
  // and discovery pools, with the resolver of its config (none while the
  // file names no host). Lookups for what is new start at once. Returns
  // false (and `error`) only when a new resolver cannot start; the
  // previous one, if any, goes on serving the new names.
  bool update(const proxy::Snapshot& snapshot, std::string* error);
  // Every name has been looked up at least once (answered or failed).
  bool settled() const;
  // Ends every lookup and timer (shutdown).
  void stop();

  const metrics::DnsStats& stats() const { return stats_; }

 private:
  struct HostEntry;
  struct PoolEntry;
  void tick();
  void start_host(HostEntry& e);
  void start_pool(PoolEntry& e);
  void host_answered(uint64_t id, HostAnswer answer);
  void pool_answered(uint64_t id, MemberList list, std::string error);
  void resolve_srv_targets(uint64_t id, std::vector<SrvRecord> records);
  void apply_members(PoolEntry& e, const MemberList& list);
  HostEntry* find_host(uint64_t id);
  PoolEntry* find_pool(uint64_t id);

  uv_loop_t* loop_;
  Current current_;
  Publish publish_;
  std::unique_ptr<Resolver> resolver_;
  config::ResolverConfig resolver_config_;
  UvHandle<uv_timer_t> tick_;
  std::vector<std::unique_ptr<HostEntry>> hosts_;
  std::vector<std::unique_ptr<PoolEntry>> pools_;
  uint64_t next_id_ = 1;
  metrics::DnsStats stats_;
};

}  // namespace lb::discovery
