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
    rare().beast = ws;
    SIO_LOG(engine_ws, debug, "session ", id_, ": websocket transport running");
    net::co_spawn(strand_, beast_writer(self, ws), net::detached);
    co_await beast_reader(std::move(self), std::move(ws));
}

net::awaitable<void> session_impl::beast_writer([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                std::shared_ptr<ws_stream> ws) {
    std::vector<out_packet> batch;
    for (;;) {
        drain_inbox();
        while (queue_.empty() && state_ == state::open) {
            co_await wait_for_wake();
        }
        if (state_ == state::closed)
            break;
        if (queue_.empty()) { // closing and flushed
            do_close(close_reason::forced_close, "server close");
            break;
        }
        batch.swap(queue_);
        for (auto& p : batch) {
            const std::string_view data = p.view();
            beast::error_code ec;
            if (p.binary) {
                ws->binary(true);
                std::tie(ec, std::ignore) = co_await ws->async_write(net::buffer(data), as_tuple_awaitable);
            } else {
                ws->text(true);
                const std::array<net::const_buffer, 2> buffers{net::buffer(packet_type_char(p.type)),
                                                               net::buffer(data)};
                std::tie(ec, std::ignore) = co_await ws->async_write(buffers, as_tuple_awaitable);
            }
            release(p);
            if (ec) {
                for (auto& rest : batch)
                    if (&rest > &p)
                        release(rest);
                batch.clear();
                SIO_LOG(engine_ws, debug, "session ", id_, ": write error: ", ec);
                do_close(close_reason::transport_error, ec.message());
                break;
            }
            if (state_ == state::closed) {
                for (auto& rest : batch)
                    if (&rest > &p)
                        release(rest);
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

net::awaitable<void> session_impl::beast_reader([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                std::shared_ptr<ws_stream> ws) {
    beast::flat_buffer buffer;
    for (;;) {
        auto [ec, n] = co_await ws->async_read(buffer, as_tuple_awaitable);
        if (state_ == state::closed)
            co_return;
        if (ec) {
            const bool clean = (ec == websocket::error::closed && !ws->next_layer().saw_invalid_close()) ||
                               ec == net::error::eof || ec == net::error::connection_reset;
            SIO_LOG(engine_ws, debug, "session ", id_, ": websocket ended: ", ec);
            do_close(clean ? close_reason::transport_close : close_reason::transport_error, ec.message());
            co_return;
        }
        const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
        if (ws->got_text()) {
            packet p;
            if (decode_packet(data, p)) {
                SIO_LOG(engine_ws, debug, "session ", id_, ": invalid packet");
                do_close(close_reason::parse_error, "invalid packet");
                co_return;
            }
            on_packet(std::move(p));
        } else {
            on_packet(packet{packet_type::message, true, std::string(data)});
        }
        buffer.consume(buffer.size());
        if (buffer.capacity() > 64 * 1024)
            buffer.shrink_to_fit(); // a large message must not pin its buffer for the session's lifetime
    }
}

net::awaitable<void> session_impl::run_beast_upgrade([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                     std::shared_ptr<ws_stream> ws) {
    const auto& o = server_->options_;
    if (!may_start_upgrade()) {
        // Already upgrading or upgraded: the newcomer is closed, the session is not touched.
        co_await ws->async_close(websocket::close_code::normal, as_tuple_awaitable);
        co_return;
    }
    upgrade_started();
    rare().beast_probe = ws;
    auto* const manual = server_->manual_clock_.get();
    net::steady_timer deadline(strand_);
    sio::detail::wait_after(manual, deadline, o.upgrade_timeout, [ws](beast::error_code ec) {
        if (!ec) {
            beast::error_code ignored;
            beast::get_lowest_layer(*ws).socket().close(ignored);
        }
    });
    auto fail = [&]() -> net::awaitable<void> {
        SIO_LOG(engine_socket, debug, "session ", id_, ": upgrade failed");
        upgrade_failed();
        sio::detail::cancel_wait(manual, deadline);
        if (beast::get_lowest_layer(*ws).socket().is_open())
            co_await ws->async_close(websocket::close_code::normal, as_tuple_awaitable);
    };
    beast::flat_buffer buffer;
    for (;;) {
        auto [ec, n] = co_await ws->async_read(buffer, as_tuple_awaitable);
        if (ec || state_ != state::open) {
            co_await fail();
            co_return;
        }
        const std::string_view text(static_cast<const char*>(buffer.data().data()), buffer.size());
        const auto step = probe_message(ws->got_text(), text);
        if (step == probe_step::answer) {
            buffer.consume(buffer.size());
            ws->text(true);
            auto [wec, wn] = co_await ws->async_write(net::buffer(probe_answer), as_tuple_awaitable);
            if (wec || state_ != state::open) {
                co_await fail();
                co_return;
            }
            upgrade_probe_answered();
            continue;
        }
        if (step != probe_step::complete) {
            co_await fail();
            co_return;
        }
        break;
    }
    sio::detail::cancel_wait(manual, deadline);
    upgrade_completed();
    co_await run_beast_websocket(std::move(self), std::move(ws));
}

} // namespace sio::engineio::detail
