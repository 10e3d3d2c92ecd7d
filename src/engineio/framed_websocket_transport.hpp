// Private to the library: the WebSocket transport of a plain TCP connection without permessage-deflate,
// framed by sio itself (ws_frame.hpp) so that the queued packets become pre-built frames written together,
// one write per wake-up (framed_websocket_transport.cpp).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ws_frame.hpp"

namespace sio::engineio::detail {

using framed_socket = std::shared_ptr<boost::asio::ip::tcp::socket>;

class session_impl;

/// The own-framed WebSocket transport, held by value in the session's transport slot
/// (websocket_transport.hpp). Strand only; every call takes the session `s` whose slot holds it. The parser
/// keeps no buffer while idle. While a framed socket probes for an upgrade, the slot holds this with no
/// socket: the probe reads with its parser, and the socket becomes the transport's when the upgrade
/// completes.
struct framed_websocket {
    framed_websocket(std::size_t max_message, std::size_t max_fragments) noexcept
        : parser(max_message, max_fragments) {}

    // The transport interface (websocket_transport.hpp).
    /// Writes the queue as frames: one non-blocking write, the rest (if any) by write_rest.
    void write_queued(session_impl& s);
    /// At once, or (graceful) after a closing handshake bounded by ping_timeout.
    void close(session_impl& s, bool graceful);
    bool writable() const noexcept { return socket != nullptr && !writing; }
    /// Starts the transport on `sock`: `response` (the handshake's 101) and the open packet in one write,
    /// then reading.
    void start(session_impl& s, framed_socket sock, std::string response);

    /// One readiness of `sock`, the transport's or the probe's (`wait_ec`: the wait's result): reads what
    /// is there and hands it over. False once reading ends (the socket is closed then).
    bool read(session_impl& s, const framed_socket& sock, const boost::system::error_code& wait_ec);

    framed_socket socket; ///< the transport, once in use
    /// The small fields below fill the parser's tail padding (8 bytes less in every session).
    [[no_unique_address]] frame_parser parser;
    std::uint8_t pending_pong = 0; ///< size of the pong frame that ends `pending` (0: none)
    bool writing = false;          ///< a write is blocked: the rest is being written asynchronously
    bool read_paused = false;      ///< back-pressure: the reader waits for the write to drain
    bool in_read_batch = false;    ///< the reader is handing a read's messages over
    bool closing = false;          ///< the closing handshake starts once the last write is done
    std::uint16_t close_code =
        static_cast<std::uint16_t>(ws_close_code::normal); ///< what our close frame says
    /// A string that holds no storage while empty: 8 bytes in every session instead of 32.
    class boxed_string {
    public:
        bool empty() const noexcept { return !s_ || s_->empty(); }
        std::size_t size() const noexcept { return s_ ? s_->size() : 0; }
        std::string_view view() const noexcept { return s_ ? std::string_view(*s_) : std::string_view(); }
        /// The string, created when absent.
        std::string& get() {
            if (!s_)
                s_ = std::make_unique<std::string>();
            return *s_;
        }
        boxed_string& operator=(std::string s) {
            get() = std::move(s);
            return *this;
        }
        void reset() noexcept { s_.reset(); }

    private:
        std::unique_ptr<std::string> s_;
    };
    boxed_string pending; ///< bytes to write before the next packets: the 101 response, a pong

private:
    friend class session_impl;
    bool read_end(session_impl& s, const framed_socket& sock);
    /// One event of the frame parser; false stops reading.
    bool on_event(session_impl& s, const frame_parser::event& e, const framed_socket& sock);
    /// on_event on the socket probing for an upgrade: the upgrade procedure decides.
    bool probe_event(session_impl& s, const frame_parser::event& e, const framed_socket& sock);
    /// The probe `sock` failed: a close frame with `code`, then the socket is closed.
    void probe_failed(session_impl& s, const framed_socket& sock, std::uint16_t code);
    /// A protocol error on the transport: a close frame with `code`, then the session ends.
    void fail(session_impl& s, std::uint16_t code);
    void flush(session_impl& s);
    /// Writes `rest`, what a write left, while `writing` keeps flush() away.
    static boost::asio::awaitable<void> write_rest(std::shared_ptr<session_impl> self, framed_socket sock,
                                                   std::string rest);
    /// Back-pressure: true while a write is blocked and what waits to be written (in flight, queued and
    /// control frames) has reached max_queued_bytes; the reader stops reading until it drains.
    bool output_full(const session_impl& s) const noexcept;
    /// The write drained: a paused reader reads again.
    void resume_reading(session_impl& s);
    /// The closing handshake: a close frame, then the write side shuts down; the reader waits for the
    /// peer to end, at most ping_timeout.
    void send_close();
};

} // namespace sio::engineio::detail
