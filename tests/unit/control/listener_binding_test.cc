#include "lb/control/listener_binding.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lb::control {
namespace {

using proxy::ListeningSocket;
using proxy::same_socket_address;

config::Address addr(std::string host, uint16_t port) {
  std::string text = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  return {std::move(host), port, std::move(text)};
}

config::ListenerConfig listener(std::string name, config::Address a) {
  config::ListenerConfig l;
  l.name = std::move(name);
  l.listen = std::move(a);
  return l;
}

// A loopback socket bound without SO_REUSEPORT: nobody else can bind the port.
struct Squatter {
  int fd = -1;
  uint16_t port = 0;
  Squatter() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  ~Squatter() { ::close(fd); }
};

uint16_t free_port() {
  Squatter s;
  return s.port;  // closed again when s goes
}

TEST(SameSocketAddress, ComparesAddressesNotSpelling) {
  EXPECT_TRUE(same_socket_address(addr("127.0.0.1", 80), addr("127.0.0.1", 80)));
  EXPECT_FALSE(same_socket_address(addr("127.0.0.1", 80), addr("127.0.0.1", 81)));
  EXPECT_FALSE(same_socket_address(addr("127.0.0.1", 80), addr("0.0.0.0", 80)));
  EXPECT_TRUE(same_socket_address(addr("::1", 80), addr("0:0:0:0:0:0:0:1", 80)));
  EXPECT_FALSE(same_socket_address(addr("::", 80), addr("0.0.0.0", 80)));
  EXPECT_TRUE(same_socket_address(addr("localhost", 80), addr("localhost", 80)));
  EXPECT_FALSE(same_socket_address(addr("localhost", 80), addr("127.0.0.1", 80)));
}

TEST(AddedListeners, OnlyNewNamesOrAddresses) {
  config::Config before, after;
  before.listeners = {listener("web", addr("0.0.0.0", 80)), listener("api", addr("0.0.0.0", 8080)),
                      listener("old", addr("0.0.0.0", 9000))};
  after.listeners = {listener("web", addr("0.0.0.0", 80)),       // unchanged: kept
                     listener("api", addr("0.0.0.0", 8081)),     // moved: bound anew
                     listener("admin2", addr("0.0.0.0", 9000)),  // renamed: bound anew
                     listener("new", addr("127.0.0.1", 7000))};
  std::vector<std::string> names;
  for (const auto* l : added_listeners(before, after)) names.push_back(l->name);
  EXPECT_EQ(names, (std::vector<std::string>{"api", "admin2", "new"}));
  EXPECT_TRUE(added_listeners(after, after).empty());
}

TEST(BindListeners, OneSocketPerWorkerForEachListener) {
  config::Config c;
  c.listeners = {listener("a", addr("127.0.0.1", free_port())), listener("b", addr("127.0.0.1", free_port()))};
  std::vector<std::vector<ListeningSocket>> per_worker;
  std::string error;
  ASSERT_TRUE(bind_listeners({&c.listeners[0], &c.listeners[1]}, 3, &per_worker, &error)) << error;
  ASSERT_EQ(per_worker.size(), 3u);
  for (auto& sockets : per_worker) {
    ASSERT_EQ(sockets.size(), 2u);
    EXPECT_EQ(sockets[0].name(), "a");
    EXPECT_EQ(sockets[1].name(), "b");
    int fd = sockets[0].release();  // three sockets on one port: SO_REUSEPORT
    EXPECT_GE(fd, 0);
    ::close(fd);
  }
}

TEST(BindListeners, AllOrNothing) {
  Squatter squatter;
  config::Config c;
  const uint16_t first_port = free_port();
  c.listeners = {listener("first", addr("127.0.0.1", first_port)),
                 listener("taken", addr("127.0.0.1", squatter.port))};
  std::vector<std::vector<ListeningSocket>> per_worker;
  std::string error;
  EXPECT_FALSE(bind_listeners({&c.listeners[0], &c.listeners[1]}, 2, &per_worker, &error));
  EXPECT_NE(error.find("listener taken: cannot listen on 127.0.0.1:" + std::to_string(squatter.port)),
            std::string::npos)
      << error;
  EXPECT_TRUE(per_worker.empty());
  // The sockets bound for "first" were closed: the port binds exclusively again.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(first_port);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ::close(fd);
}

TEST(ListeningSocket, ClosesItsFdUnlessReleased) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  { ListeningSocket s("x", addr("127.0.0.1", 1), fds[0]); }
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);  // closed
  int kept;
  {
    ListeningSocket s("y", addr("127.0.0.1", 1), fds[1]);
    ListeningSocket moved = std::move(s);
    kept = moved.release();
  }
  EXPECT_EQ(::fcntl(kept, F_GETFD), 0);
  ::close(kept);
}

}  // namespace
}  // namespace lb::control
