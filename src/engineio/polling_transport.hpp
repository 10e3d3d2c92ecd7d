// Private to the library: the HTTP long-polling transport of a session (its member functions are in
// polling_transport.cpp; the HTTP side is the connection's).
#pragma once

#include <string>

namespace sio::engineio::detail {

/// What a polling GET answers.
struct poll_result {
    int status = 200;     // 200 with `body`, or an error status
    std::string body;     // the payload (empty for an error: the connection writes the error body)
    bool compress = true; // some packet allows compression (reference: HTTP compression only then)
    bool binary = false;  // an Engine.IO v3 binary payload ("application/octet-stream")
};

} // namespace sio::engineio::detail
