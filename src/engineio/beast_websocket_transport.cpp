// The WebSocket transport on Beast's websocket::stream (TLS, permessage-deflate): a reader coroutine hands
// the client's messages to the session core, a writer coroutine writes the queue when woken.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/error.hpp>

#include <array>

#include "../log.hpp"
#include "server_impl.hpp"
#include "session_impl.hpp"
#include "websocket_upgrade.hpp"

namespace sio::engineio::detail {

namespace websocket = beast::websocket;
constexpr auto as_tuple_awaitable = net::as_tuple(net::use_awaitable);

net::awaitable<void> session_impl::run_beast_websocket([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                       std::shared_ptr<ws_stream> ws) {
    websocket_.emplace<beast_websocket>(beast_websocket{ws});
    SIO_LOG(engine_ws, debug, "session ", id_, ": websocket transport running");
    net::co_spawn(strand_, beast_websocket::writer(self, ws), net::detached);
    co_await beast_websocket::reader(std::move(self), std::move(ws));
}

void beast_websocket::write_queued(session_impl& s) {
    s.wake();
}

void beast_websocket::close(session_impl&, bool graceful) {
    if (graceful)
        return; // the writer ends with a close frame
    beast::error_code ignored;
    beast::get_lowest_layer(*ws).socket().close(ignored);
}

net::awaitable<void> beast_websocket::writer(std::shared_ptr<session_impl> self,
                                             std::shared_ptr<ws_stream> ws) {
    session_impl& s = *self;
    std::vector<out_packet> batch;
    for (;;) {
        s.drain_inbox();
        while (s.queue_.empty() && s.state_ == session_state::open) {
            co_await s.wait_for_wake();
        }
        if (s.state_ == session_state::closed)
            break;
        if (s.queue_.empty()) { // closing and flushed
            s.do_close(close_reason::forced_close, "server close");
            break;
        }
        batch.swap(s.queue_);
        for (auto& p : batch) {
            const std::string_view data = p.view();
            beast::error_code ec;
            if (p.binary && s.protocol() == 3 && !s.v3_binary()) { // a v3 client that asked for base64
                std::string text;
                v3::append_text(text, p.type, true, data);
                ws->text(true);
                std::tie(ec, std::ignore) = co_await ws->async_write(net::buffer(text), as_tuple_awaitable);
            } else if (p.binary) {
                ws->binary(true);
                const std::array<net::const_buffer, 2> buffers{
                    net::buffer(s.protocol() == 3 ? v3_binary_frame_prefix : std::string_view{}),
                    net::buffer(data)};
                std::tie(ec, std::ignore) = co_await ws->async_write(buffers, as_tuple_awaitable);
            } else {
                ws->text(true);
                const std::array<net::const_buffer, 2> buffers{net::buffer(packet_type_char(p.type)),
                                                               net::buffer(data)};
                std::tie(ec, std::ignore) = co_await ws->async_write(buffers, as_tuple_awaitable);
            }
            s.release(p);
            if (ec) {
                for (auto& rest : batch)
                    if (&rest > &p)
                        s.release(rest);
                batch.clear();
                SIO_LOG(engine_ws, debug, "session ", s.id_, ": write error: ", ec);
                s.do_close(close_reason::transport_error, ec.message());
                break;
            }
            if (s.state_ == session_state::closed) {
                for (auto& rest : batch)
                    if (&rest > &p)
                        s.release(rest);
                break;
            }
        }
        batch.clear();
    }
    // Closed: a close frame when the connection is still usable, then the socket goes.
    if (beast::get_lowest_layer(*ws).socket().is_open()) {
        co_await ws->async_close(websocket::close_code::normal, as_tuple_awaitable);
        beast::error_code ignored;
        beast::get_lowest_layer(*ws).socket().close(ignored);
    }
}

net::awaitable<void> beast_websocket::reader(std::shared_ptr<session_impl> self,
                                             std::shared_ptr<ws_stream> ws) {
    session_impl& s = *self;
    beast::flat_buffer buffer;
    for (;;) {
        while (s.reading_held() && s.state_ != session_state::closed)
            co_await s.wait_for_wake(); // back-pressure from the layer above
        auto [ec, n] = co_await ws->async_read(buffer, as_tuple_awaitable);
        if (s.state_ == session_state::closed)
            co_return;
        if (ec) {
            const bool clean = (ec == websocket::error::closed && !ws->next_layer().saw_invalid_close()) ||
                               ec == net::error::eof || ec == net::error::connection_reset;
            SIO_LOG(engine_ws, debug, "session ", s.id_, ": websocket ended: ", ec);
            s.do_close(clean ? close_reason::transport_close : close_reason::transport_error, ec.message());
            co_return;
        }
        const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
        packet p;
        if (s.decode_ws_message(ws->got_text(), data, p)) {
            SIO_LOG(engine_ws, debug, "session ", s.id_, ": invalid packet");
            s.do_close(close_reason::parse_error, "invalid packet");
            co_return;
        }
        s.on_packet(std::move(p));
        buffer.consume(buffer.size());
        if (buffer.capacity() > 64 * 1024)
            buffer.shrink_to_fit(); // a large message must not pin its buffer for the session's lifetime
    }
}

net::awaitable<void> session_impl::run_beast_upgrade([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                     std::shared_ptr<ws_stream> ws) {
    if (!upgrade_begin(ws)) {
        // Already upgrading or upgraded: the newcomer is closed, the session is not touched.
        co_await ws->async_close(websocket::close_code::normal, as_tuple_awaitable);
        co_return;
    }
    // The probe: each message read goes to the upgrade procedure, until it completes or fails.
    beast::flat_buffer buffer;
    for (;;) {
        auto [ec, n] = co_await ws->async_read(buffer, as_tuple_awaitable);
        const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
        const auto action = ec ? upgrade_action::fail : upgrade_message(ws->got_text(), data);
        buffer.consume(buffer.size());
        if (action == upgrade_action::complete)
            break;
        if (action == upgrade_action::write_answer) {
            ws->text(true);
            auto [wec, wn] = co_await ws->async_write(net::buffer(probe_answer), as_tuple_awaitable);
            if (upgrade_answer_written(!wec))
                continue;
        }
        upgrade_fail();
        if (beast::get_lowest_layer(*ws).socket().is_open())
            co_await ws->async_close(websocket::close_code::normal, as_tuple_awaitable);
        co_return;
    }
    upgrade_completed();
    co_await run_beast_websocket(std::move(self), std::move(ws));
}

} // namespace sio::engineio::detail
