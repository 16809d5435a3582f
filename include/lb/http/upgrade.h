#pragma once
// Which protocol upgrades lbd passes on (RFC 9110 §7.8), and the 101 head it
// relays once the backend agreed. Only WebSocket is tunnelled (DESIGN.md §2):
// h2c must never reach a backend through an HTTP/1.1 proxy (the backend would
// speak HTTP/2 to a client that asked lbd, not it), and other tokens are
// ignored as RFC 9110 allows, so the backend answers in HTTP/1.1.
#include <string>
#include <string_view>

#include "lb/http/message.h"

namespace lb::http {

// The Upgrade value to forward for `req`, or "" when the request is served as
// plain HTTP: it needs Connection: upgrade, an Upgrade list naming websocket
// and no h2c, a GET without a body, and HTTP/1.1.
std::string_view forwarded_upgrade(const RequestHead& req);

// True when the backend's 101 switches to a protocol the client asked for
// (Upgrade: websocket); anything else is an invalid answer.
bool accepts_upgrade(const ResponseHead& resp);

// Appends the client's 101 head: the backend's fields minus hop-by-hop ones,
// plus Connection: upgrade and the backend's Upgrade value.
void write_switching_protocols_head(const ResponseHead& resp, std::string& out);

}  // namespace lb::http
