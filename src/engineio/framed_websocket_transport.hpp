// Private to the library: the WebSocket transport of a plain TCP connection without permessage-deflate,
// framed by sio itself (ws_frame.hpp) so that the queued packets become pre-built frames written together,
// one write per wake-up. Its session member functions are in framed_websocket_transport.cpp.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "ws_frame.hpp"

namespace sio::engineio::detail {

using framed_socket = std::shared_ptr<boost::asio::ip::tcp::socket>;

class session_impl;

/// The own-framed WebSocket transport: its state, held by value in the session's transport slot
/// (websocket_transport.hpp; strand only), and the core's calls. The parser keeps no buffer while idle.
struct framed_websocket {
    framed_websocket(std::size_t max_message, std::size_t max_fragments) noexcept
        : parser(max_message, max_fragments) {}

    // The transport interface (websocket_transport.hpp).
    void write_queued(session_impl& s);
    void close(session_impl& s, bool graceful);
    bool writable() const noexcept { return socket != nullptr && !writing; }

    framed_socket socket; ///< the transport, once in use
    frame_parser parser;
    std::string pending;           ///< bytes to write before the next packets: the 101 response, a pong
    std::uint8_t pending_pong = 0; ///< size of the pong frame that ends `pending` (0: none)
    bool writing = false;          ///< a write is blocked: the rest is being written asynchronously
    bool read_paused = false;      ///< back-pressure: the reader waits for the write to drain
    bool in_read_batch = false;    ///< the reader is handing a read's messages over
    bool closing = false;          ///< the closing handshake starts once the last write is done
    std::uint16_t close_code =
        static_cast<std::uint16_t>(ws_close_code::normal); ///< what our close frame says
};

} // namespace sio::engineio::detail
