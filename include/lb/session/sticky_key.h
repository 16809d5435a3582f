#pragma once
// The secret a sticky pool signs its cookies with: the bytes of
// session.cookie.secret_file, as they are (a trailing newline included), so
// every lbd replica given the same file computes the same signatures.
// Read by the config loader, which reports a problem at the secret_file key:
// a key anyone on the machine can read lets anyone forge affinity cookies.
#include <string>

namespace lb::session {

// Shorter keys are refused: HMAC-SHA256 is only as strong as its key.
inline constexpr size_t kMinStickyKeyBytes = 32;
// Longer files are refused as a mistake (a key is 32..64 random bytes).
inline constexpr size_t kMaxStickyKeyBytes = 4096;

struct StickyKeyFile {
  std::string key;    // the file's bytes when error is empty
  std::string error;  // why the file is unusable, naming the file
  bool ok() const { return error.empty(); }
};

// Reads and checks the key file: it must be a regular file of
// kMinStickyKeyBytes..kMaxStickyKeyBytes bytes that other users can neither
// read nor write.
StickyKeyFile read_sticky_key(const std::string& path);

}  // namespace lb::session
