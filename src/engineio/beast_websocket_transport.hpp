// Private to the library: the WebSocket transport on Beast's websocket::stream, used for TLS and
// permessage-deflate (beast_websocket_transport.cpp).
#pragma once

#include <boost/asio/awaitable.hpp>
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

    /// Hands the client's messages to the session core until the stream ends (`self` holds the session
    /// for as long).
    static boost::asio::awaitable<void> reader(std::shared_ptr<session_impl> self,
                                               std::shared_ptr<ws_stream> ws);
    /// Writes what is queued when woken, one message per packet; a close frame when the session ends.
    static boost::asio::awaitable<void> writer(std::shared_ptr<session_impl> self,
                                               std::shared_ptr<ws_stream> ws);
};

} // namespace sio::engineio::detail
