#include "lb/session/sticky_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace lb::session {

namespace {

// Closes the descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

StickyKeyFile failure(const std::string& path, const std::string& why) { return {{}, path + ": " + why}; }

}  // namespace

StickyKeyFile read_sticky_key(const std::string& path) {
  // O_NONBLOCK: a FIFO at this path must not hang the loader; it is refused
  // below as not a regular file.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return failure(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failure(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return failure(path, "is not a regular file");
  if (st.st_mode & (S_IROTH | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return failure(path, std::string("is readable or writable by every user (mode ") + mode +
                             "); a key others can read lets them forge sticky cookies: chmod 600 it");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < kMinStickyKeyBytes)
    return failure(path, "holds " + std::to_string(size) + " bytes; a sticky key needs at least " +
                             std::to_string(kMinStickyKeyBytes) + " (head -c 32 /dev/urandom > FILE)");
  if (size > kMaxStickyKeyBytes)
    return failure(path, "holds " + std::to_string(size) + " bytes; a sticky key is at most " +
                             std::to_string(kMaxStickyKeyBytes));

  std::string key(size, '\0');
  size_t got = 0;
  while (got < key.size()) {
    const ssize_t n = ::read(fd.get(), key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(path, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    got += size_t(n);
  }
  // The file shrank between fstat and read: judge what was actually read.
  key.resize(got);
  if (key.size() < kMinStickyKeyBytes)
    return failure(path, "holds " + std::to_string(key.size()) + " bytes; a sticky key needs at least " +
                             std::to_string(kMinStickyKeyBytes));
  return {std::move(key), {}};
}

}  // namespace lb::session
