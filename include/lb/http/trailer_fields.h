#pragma once
// Trailer fields on their way through lbd (RFC 9110 §6.5): a chunked
// message's trailer section is relayed to the next hop, less the fields that
// describe one hop's connection or framing (hop-by-hop, Content-Length,
// Host), which a trailer must not carry and which the next hop would
// misread. gRPC's grpc-status and usage figures at the end of an AI stream
// arrive this way.
#include <cstddef>
#include <string>

#include "lb/http/header_list.h"

namespace lb::http {

// True when field `i` of a trailer section may go to the next hop.
bool forwardable_trailer(const HeaderList& trailers, size_t i);

// The end of a chunked body: the last chunk, the forwardable fields of
// `trailers` (null: none) as "Name: value" lines, and the final line end.
void append_last_chunk(const HeaderList* trailers, std::string& out);

}  // namespace lb::http
