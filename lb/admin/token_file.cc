#include "lb/admin/token_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace lb::admin {

std::optional<std::string> read_token_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = fmt::format("admin.token_file {}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  const auto first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    *error = fmt::format("admin.token_file {}: is empty", path);
    return std::nullopt;
  }
  token = token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  for (unsigned char c : token) {
    if (c < 0x21 || c > 0x7e) {
      *error = fmt::format("admin.token_file {}: the token must be one line of visible ASCII characters", path);
      return std::nullopt;
    }
  }
  return token;
}

}  // namespace lb::admin
