#pragma once
// Test helper: a key file with the given bytes and mode in a fresh temporary
// directory, removed with the object.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace lb::session::test {

class KeyFile {
 public:
  explicit KeyFile(const std::string& bytes, mode_t mode = 0600) {
    std::string tmpl = ::testing::TempDir() + "/lbd-sticky-XXXXXX";
    dir_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
    path_ = dir_ + "/sticky.key";
    std::ofstream(path_, std::ios::binary) << bytes;
    ::chmod(path_.c_str(), mode);
  }
  ~KeyFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  KeyFile(const KeyFile&) = delete;
  KeyFile& operator=(const KeyFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace lb::session::test
