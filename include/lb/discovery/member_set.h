#pragma once
// A discovery pool's members as DNS names them, and how a new answer
// changes the pool (DESIGN.md §2: membership is rebuilt like a reload of
// that pool's list). Pure: no I/O, no uv; unit-tested without sockets.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "lb/balance/strategy.h"
#include "lb/config/config.h"
#include "lb/discovery/dns_answer.h"

namespace lb::discovery {

// A pool never has more members than this from DNS; an answer with more
// keeps the first kMaxMembers in the stable order below and the rest are
// counted in MemberList::dropped (and logged).
inline constexpr size_t kMaxMembers = 512;

struct Member {
  std::string name;         // "10.0.0.5:8080", "[fd00::5]:8080" or "target:port" (SRV)
  config::Address address;  // host is the IP literal or the SRV target
  uint32_t weight = 1;      // 1..1000
  sockaddr_storage sockaddr{};  // with the port
};

struct MemberList {
  std::vector<Member> members;  // sorted by name, no repeats
  size_t dropped = 0;           // over kMaxMembers
};

// "10.0.0.5:8080" / "[fd00::5]:8080".
std::string endpoint_text(const sockaddr_storage& address, uint16_t port);

// Every address, with `port`; weight 1 each.
MemberList members_from_addresses(const std::vector<sockaddr_storage>& addresses, uint16_t port);

// SRV records that take traffic: only the lowest priority value (RFC 2782:
// the others are for when those are unreachable; lbd leaves failover within
// the set to health checks), one per target:port (the first seen).
std::vector<SrvRecord> preferred_srv(std::vector<SrvRecord> records);

// RFC 2782 weights (0..65535, relative within a priority) to lbd weights
// (1..1000): scaled so the heaviest record in the set gets 1000 and the
// others keep their ratio to it, rounded, never below 1 (weight 0, "very
// rarely chosen", becomes 1). All zero: 1 each.
uint32_t srv_weight(uint16_t weight, uint16_t heaviest);

// One member per record of `preferred_srv(records)` whose target resolved;
// `addresses[i]` is records[i]'s target's address (AF_UNSPEC: it did not).
MemberList members_from_srv(const std::vector<SrvRecord>& records, const std::vector<sockaddr_storage>& addresses);

// What applying a member list to a pool's current backends does. Backends
// are matched by name: one that stays is the same object (its health,
// statistics and slow start go on).
struct MemberChange {
  balance::BackendList backends;  // the new list, in member order
  std::vector<std::shared_ptr<balance::Backend>> added;
  std::vector<std::shared_ptr<balance::Backend>> removed;
  // Kept backends whose weight or address DNS changed, with the new values
  // (applied by the caller when it publishes: the objects are live).
  struct Update {
    std::shared_ptr<balance::Backend> backend;
    uint32_t weight;
    sockaddr_storage sockaddr;
  };
  std::vector<Update> updates;
  bool weights_changed = false;

  // Does the pool's snapshot need rebuilding?
  bool membership_changed() const { return !added.empty() || !removed.empty() || weights_changed; }
};

MemberChange diff_members(const balance::BackendList& current, const std::vector<Member>& members);

}  // namespace lb::discovery
