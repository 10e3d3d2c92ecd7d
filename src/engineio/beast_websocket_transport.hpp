// Private to the library: the WebSocket transport on Beast's websocket::stream, used for TLS and
// permessage-deflate (its session member functions are in beast_websocket_transport.cpp).
#pragma once

#include <boost/beast/websocket/stream.hpp>

#include <memory>

#include "stream.hpp"

namespace sio::engineio::detail {

using ws_stream = boost::beast::websocket::stream<stream>;

class session_impl;

/// The WebSocket transport on Beast's stream: its state, held in the session's transport slot
/// (websocket_transport.hpp; strand only), and the core's calls. Its reader and writer coroutines hold the
/// stream too.
struct beast_websocket {
    std::shared_ptr<ws_stream> ws;

    // The transport interface (websocket_transport.hpp).
    void write_queued(session_impl& s); ///< wakes the writer
    void close(session_impl& s, bool graceful);
    bool writable() const noexcept { return true; } ///< the writer takes what is queued
};

} // namespace sio::engineio::detail
