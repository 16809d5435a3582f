#include "lb/session/sticky_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sticky_key_file.h"

namespace lb::session {
namespace {

using test::KeyFile;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string k32(32, 'k');

TEST(StickyKey, ReadsThePrivateFileBytesAsTheyAre) {
  const std::string bytes = std::string("\x00\xff\n", 3) + std::string(40, 'x') + "\n";
  KeyFile f(bytes, 0600);
  const StickyKeyFile r = read_sticky_key(f.path());
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.key, bytes);  // binary bytes and the trailing newline kept
}

TEST(StickyKey, GroupReadableIsAccepted) {
  KeyFile f(k32, 0640);  // e.g. root:lbd 0640
  EXPECT_TRUE(read_sticky_key(f.path()).ok());
}

TEST(StickyKey, MissingFileNamesTheFileAndTheReason) {
  const StickyKeyFile r = read_sticky_key("/nonexistent/sticky.key");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.key.empty());
  EXPECT_EQ(r.error, "/nonexistent/sticky.key: cannot open: No such file or directory");
}

TEST(StickyKey, WorldReadableIsRefused) {
  KeyFile f(k32, 0644);
  const StickyKeyFile r = read_sticky_key(f.path());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.key.empty());
  EXPECT_THAT(r.error, StartsWith(f.path() + ": is readable or writable by every user (mode 0644)"));
  EXPECT_THAT(r.error, HasSubstr("chmod 600"));
}

TEST(StickyKey, WorldWritableIsRefused) {
  KeyFile f(k32, 0602);
  EXPECT_THAT(read_sticky_key(f.path()).error, HasSubstr("(mode 0602)"));
}

TEST(StickyKey, ShorterThan32BytesIsRefused) {
  KeyFile f(std::string(31, 'k'));
  EXPECT_EQ(read_sticky_key(f.path()).error,
            f.path() + ": holds 31 bytes; a sticky key needs at least 32 (head -c 32 /dev/urandom > FILE)");
  KeyFile empty("");
  EXPECT_THAT(read_sticky_key(empty.path()).error, HasSubstr("holds 0 bytes"));
}

TEST(StickyKey, AbsurdlyLargeFileIsRefused) {
  KeyFile f(std::string(kMaxStickyKeyBytes + 1, 'k'));
  EXPECT_THAT(read_sticky_key(f.path()).error, HasSubstr("a sticky key is at most 4096"));
  KeyFile edge(std::string(kMaxStickyKeyBytes, 'k'));
  EXPECT_TRUE(read_sticky_key(edge.path()).ok());
}

TEST(StickyKey, DirectoryAndFifoAreNotRegularFiles) {
  KeyFile f(k32);
  EXPECT_EQ(read_sticky_key(f.dir()).error, f.dir() + ": is not a regular file");
  const std::string fifo = f.dir() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(read_sticky_key(fifo).error, fifo + ": is not a regular file");  // and no hang
}

TEST(StickyKey, UnreadableFileSaysPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  KeyFile f(k32, 0000);
  EXPECT_EQ(read_sticky_key(f.path()).error, f.path() + ": cannot open: Permission denied");
}

}  // namespace
}  // namespace lb::session
