#include "lb/discovery/resolver.h"

#include <arpa/nameser.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

namespace lb::discovery {
namespace {

// How often a query is sent again (to each server) before it fails.
constexpr int kTries = 2;

void library_init() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

std::string servers_csv(const config::ResolverConfig& config) {
  std::string csv;
  for (const auto& a : config.nameservers) {
    if (!csv.empty()) csv += ',';
    csv += a.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", a.host, a.port)
                                                 : fmt::format("{}:{}", a.host, a.port);
  }
  return csv;
}

// One lookup's callback, owned by c-ares until it answers.
template <class Answer>
struct Pending {
  class Resolver* resolver;
  std::function<void(Answer)> done;
};

}  // namespace

std::unique_ptr<Resolver> Resolver::create(uv_loop_t* loop, const config::ResolverConfig& config,
                                           std::string* error) {
  library_init();
  std::unique_ptr<Resolver> r(new Resolver(loop));
  ares_options options{};
  options.sock_state_cb = &Resolver::on_sock_state;
  options.sock_state_cb_data = r.get();
  options.timeout = int(std::max<int64_t>(1, config.timeout.count()));  // ms with ARES_OPT_TIMEOUTMS
  options.tries = kTries;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int rc = ares_init_options(&r->channel_, &options, mask);
  if (rc != ARES_SUCCESS) {
    *error = fmt::format("cannot start the DNS resolver: {}", ares_strerror(rc));
    return nullptr;
  }
  if (!config.nameservers.empty()) {
    rc = ares_set_servers_ports_csv(r->channel_, servers_csv(config).c_str());
    if (rc != ARES_SUCCESS) {
      *error = fmt::format("resolver.nameservers: {}", ares_strerror(rc));
      return nullptr;  // ~Resolver destroys the channel
    }
  }
  r->timer_.init(loop, uv_timer_init);
  r->timer_->data = r.get();
  return r;
}

Resolver::~Resolver() {
  destroying_ = true;
  if (channel_) ares_destroy(channel_);  // runs every pending callback with ARES_EDESTRUCTION
  polls_.clear();  // closes the handles (c-ares has closed its sockets)
  timer_.close();
}

void Resolver::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  static_cast<Resolver*>(data)->watch(fd, readable != 0, writable != 0);
}

void Resolver::watch(ares_socket_t fd, bool readable, bool writable) {
  if (!readable && !writable) {  // c-ares is about to close fd
    polls_.erase(fd);
    return;
  }
  auto it = polls_.find(fd);
  if (it == polls_.end()) {
    if (destroying_) return;
    UvHandle<uv_poll_t> poll;
    if (poll.init(loop_, uv_poll_init_socket, fd) != 0) return;  // c-ares times the query out
    poll->data = this;
    it = polls_.emplace(fd, std::move(poll)).first;
  }
  const int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  uv_poll_start(it->second.get(), events, [](uv_poll_t* h, int status, int events) {
    auto* self = static_cast<Resolver*>(h->data);
    ares_socket_t fd = ARES_SOCKET_BAD;
    uv_fileno(reinterpret_cast<uv_handle_t*>(h), &fd);
    // An error on the socket: let c-ares read it and fail over.
    const bool read = status < 0 || (events & UV_READABLE);
    const bool write = status >= 0 && (events & UV_WRITABLE);
    self->process(read ? fd : ARES_SOCKET_BAD, write ? fd : ARES_SOCKET_BAD);
  });
}

void Resolver::process(ares_socket_t read_fd, ares_socket_t write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  arm_timer();
}

void Resolver::arm_timer() {
  if (!timer_) return;
  timeval tv{};
  if (pending_ == 0 || !ares_timeout(channel_, nullptr, &tv)) {
    uv_timer_stop(timer_.get());
    return;
  }
  const uint64_t ms = uint64_t(tv.tv_sec) * 1000 + uint64_t(tv.tv_usec + 999) / 1000;
  uv_timer_start(
      timer_.get(),
      [](uv_timer_t* t) { static_cast<Resolver*>(t->data)->process(ARES_SOCKET_BAD, ARES_SOCKET_BAD); }, ms, 0);
}

void Resolver::resolve_host(const std::string& name, std::function<void(HostAnswer)> done) {
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // NOSORT: RFC 6724 sorting connects a UDP socket per address; lbd keeps
  // its own stable order (lb/discovery/member_set.h).
  hints.ai_flags = ARES_AI_NOSORT;
  ++pending_;
  auto* p = new Pending<HostAnswer>{this, std::move(done)};
  ares_getaddrinfo(
      channel_, name.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* result) {
        std::unique_ptr<Pending<HostAnswer>> p(static_cast<Pending<HostAnswer>*>(arg));
        --p->resolver->pending_;
        HostAnswer a;
        if (status != ARES_SUCCESS) a.error = ares_strerror(status);
        int ttl = -1;
        for (ares_addrinfo_node* n = result ? result->nodes : nullptr; n; n = n->ai_next) {
          if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
          sockaddr_storage ss{};
          std::memcpy(&ss, n->ai_addr, std::min<size_t>(n->ai_addrlen, sizeof(ss)));
          a.addresses.push_back(ss);
          if (n->ai_ttl > 0 && (ttl < 0 || n->ai_ttl < ttl)) ttl = n->ai_ttl;
        }
        if (result) ares_freeaddrinfo(result);
        if (a.ok() && a.addresses.empty()) a.error = "no A or AAAA record";
        a.ttl = std::chrono::seconds(std::max(ttl, 0));
        if (status != ARES_EDESTRUCTION && !p->resolver->destroying_) p->done(std::move(a));
      },
      p);
  arm_timer();
}

void Resolver::query(const std::string& name, int type, std::function<void(RawAnswer)> done) {
  ++pending_;
  auto* p = new Pending<RawAnswer>{this, std::move(done)};
  ares_search(
      channel_, name.c_str(), ns_c_in, type,
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        std::unique_ptr<Pending<RawAnswer>> p(static_cast<Pending<RawAnswer>*>(arg));
        --p->resolver->pending_;
        RawAnswer a;
        if (status != ARES_SUCCESS) a.error = ares_strerror(status);
        else if (abuf && alen > 0) a.bytes.assign(abuf, abuf + alen);
        if (status != ARES_EDESTRUCTION && !p->resolver->destroying_) p->done(std::move(a));
      },
      p);
  arm_timer();
}

}  // namespace lb::discovery
