// Private to the library: the byte stream under an HTTP connection and its WebSocket, plain TCP or TLS.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <algorithm>
#include <memory>
#include <utility>
#include <variant>

#include "ws_frame.hpp"

namespace sio::engineio::detail {

/// Either a `beast::tcp_stream` or a `beast::ssl_stream` over one. Every operation is forwarded to the
/// active alternative after one branch; the completion handler is moved through, never wrapped or stored,
/// so the plain TCP path costs no allocation and no indirect call. Timeouts (`expires_after`) live on the
/// TCP layer and bound the TLS records read and written over it too.
class stream {
public:
    using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
    using executor_type = boost::beast::tcp_stream::executor_type;
    using next_layer_type = boost::beast::tcp_stream;

    // Built in place: moving a `beast::tcp_stream` allocates a new state for it (timers and all).
    explicit stream(boost::asio::ip::tcp::socket s) : s_(std::in_place_index<0>, std::move(s)) {}
    stream(boost::asio::ip::tcp::socket s, boost::asio::ssl::context& tls)
        : s_(std::in_place_index<1>, std::move(s), tls) {}
    explicit stream(boost::beast::tcp_stream s) : s_(std::in_place_index<0>, std::move(s)) {}
    explicit stream(tls_stream s) : s_(std::in_place_index<1>, std::move(s)) {}

    executor_type get_executor() noexcept { return tcp().get_executor(); }

    /// The TCP layer (`beast::get_lowest_layer` finds it through `next_layer`).
    boost::beast::tcp_stream& next_layer() noexcept {
        if (auto* t = std::get_if<1>(&s_))
            return t->next_layer();
        return std::get<0>(s_);
    }
    boost::beast::tcp_stream& tcp() noexcept { return next_layer(); }
    boost::asio::ip::tcp::socket& socket() noexcept { return next_layer().socket(); }

    /// The TLS layer, or null for plain TCP.
    tls_stream* tls() noexcept { return std::get_if<1>(&s_); }

    /// From now on, what is read passes a close_frame_fixer (Beast's WebSocket runs on this stream).
    void watch_close_frames() { close_fixer_ = std::make_unique<close_frame_fixer>(); }
    /// A close frame with a reason that is not UTF-8 was read (and rewritten to carry 1007).
    bool saw_invalid_close() const noexcept { return close_fixer_ && close_fixer_->saw_invalid_close(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (close_fixer_) {
                    // The watched path (Beast's WebSocket only): what was read is scanned before Beast sees
                    // it.
                    auto ex = boost::asio::get_associated_executor(handler, get_executor());
                    auto scan = [h = std::move(handler), b, f = close_fixer_.get()](
                                    boost::system::error_code ec, std::size_t n) mutable {
                        std::size_t left = n;
                        for (auto it = boost::asio::buffer_sequence_begin(b);
                             left > 0 && it != boost::asio::buffer_sequence_end(b); ++it) {
                            const boost::asio::mutable_buffer m = *it;
                            const std::size_t k = std::min(left, m.size());
                            f->scan(static_cast<char*>(m.data()), k);
                            left -= k;
                        }
                        std::move(h)(ec, n);
                    };
                    if (auto* t = std::get_if<1>(&s_))
                        t->async_read_some(b, boost::asio::bind_executor(ex, std::move(scan)));
                    else
                        std::get<0>(s_).async_read_some(b, boost::asio::bind_executor(ex, std::move(scan)));
                    return;
                }
                if (auto* t = std::get_if<1>(&s_))
                    t->async_read_some(b, std::move(handler));
                else
                    std::get<0>(s_).async_read_some(b, std::move(handler));
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                if (auto* t = std::get_if<1>(&s_))
                    t->async_write_some(b, std::move(handler));
                else
                    std::get<0>(s_).async_write_some(b, std::move(handler));
            },
            token, buffers);
    }

    // The WebSocket closing handshake ends with these (found by argument-dependent lookup): a TLS
    // close_notify then the TCP shutdown, or the TCP shutdown alone.
    friend void teardown(boost::beast::role_type role, stream& s, boost::system::error_code& ec) {
        using boost::beast::websocket::teardown;
        if (auto* t = s.tls())
            teardown(role, *t, ec);
        else
            teardown(role, std::get<0>(s.s_), ec);
    }

    template <class Handler>
    friend void async_teardown(boost::beast::role_type role, stream& s, Handler&& handler) {
        using boost::beast::websocket::async_teardown;
        if (auto* t = s.tls())
            async_teardown(role, *t, std::forward<Handler>(handler));
        else
            async_teardown(role, std::get<0>(s.s_), std::forward<Handler>(handler));
    }

private:
    std::variant<boost::beast::tcp_stream, tls_stream> s_;
    std::unique_ptr<close_frame_fixer> close_fixer_; // Beast's WebSocket only
};

} // namespace sio::engineio::detail
