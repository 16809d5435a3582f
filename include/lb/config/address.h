#pragma once
// "host:port" and "[v6]:port" literals of the config file (listen and
// backend addresses). Names are checked for shape only: resolving them is
// left to whoever connects or binds, so validating a file needs no DNS.
#include <optional>
#include <string>
#include <string_view>

#include "lb/config/config.h"

namespace lb::config {

// The address, or nullopt with the reason in `why` ("port must be 1..65535").
std::optional<Address> parse_address(std::string_view text, std::string& why);

// 127.0.0.0/8, ::1 or "localhost": reachable only from this machine.
bool is_loopback(const Address& address);

}  // namespace lb::config
