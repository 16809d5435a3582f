#pragma once
// admin.token_file: the bearer token every admin request must carry. The
// file holds the token alone; surrounding whitespace (a trailing newline)
// is not part of it.
#include <optional>
#include <string>

namespace lb::admin {

// The token, or nullopt with *error set (unreadable, empty, or a token with
// characters a header cannot carry).
std::optional<std::string> read_token_file(const std::string& path, std::string* error);

}  // namespace lb::admin
