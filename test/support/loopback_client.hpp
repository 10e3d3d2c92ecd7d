// Loopback test support shared by the server tests: a raw TCP client that speaks HTTP/1.1 byte for byte
// and, after an upgrade, reads and writes WebSocket frames by hand (so a test can send exactly the bytes
// of a malformed input).
//
// The client runs on an io_context that the test thread drives: every operation is bounded (a deadline on
// the stream and on the loop) and either completes, throws, or reports the peer's close. No sleeps.
// The I/O is compiled once, in loopback_client.cpp (the sio_test_support library), not in every test.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "support/client_frame.hpp"

namespace sio_test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

/// Engine.IO request targets under the default path `/engine.io/` (a handshake without `sid`).
std::string polling_target(std::string_view sid = {});
std::string websocket_target(std::string_view sid = {});

using net::ip::tcp;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using duration = clock_type::duration;
using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

constexpr auto awaitable_tuple = net::as_tuple(net::use_awaitable);

/// Upper bound of every single client operation and every wait for a server event.
constexpr duration io_limit = 5s;

// --- driving the client io_context -----------------------------------------------------------------

/// Runs `ioc` until `done` or `limit`.
void drive(net::io_context& ioc, const bool& done, duration limit);

/// Runs one client coroutine to completion on `ioc`, at most `limit`; rethrows its exception.
template <class T>
T run_io(net::io_context& ioc, net::awaitable<T> op, duration limit = io_limit + 1s) {
    struct state {
        bool done = false;
        std::exception_ptr ex;
        std::optional<T> value;
    };
    auto st = std::make_shared<state>();
    net::co_spawn(ioc, std::move(op), [st](std::exception_ptr ex, T v) {
        st->ex = ex;
        if (!ex)
            st->value.emplace(std::move(v));
        st->done = true;
    });
    drive(ioc, st->done, limit);
    if (!st->done)
        throw std::runtime_error("client operation did not complete in time");
    if (st->ex)
        std::rethrow_exception(st->ex);
    return std::move(*st->value);
}

void run_io(net::io_context& ioc, net::awaitable<void> op, duration limit = io_limit + 1s);

http_request make_request(http::verb method, std::string target, std::string body = {});
inline http_request get_request(std::string target) {
    return make_request(http::verb::get, std::move(target));
}
inline http_request post_request(std::string target, std::string body) {
    return make_request(http::verb::post, std::move(target), std::move(body));
}

/// A WebSocket upgrade request with valid handshake headers.
http_request upgrade_request(std::string target);

std::string serialize(const http_request& r);

std::string close_payload(std::uint16_t code, std::string_view reason = {});

struct ws_frame {
    int opcode = 0;
    bool fin = true;
    int rsv = 0;         ///< the RSV bits (a compressed message sets 4)
    bool masked = false; ///< servers must not mask; `data` is unmasked either way
    std::string data;
};

/// Decodes the frame at the front of `bytes`: the bytes it used, or 0 when more are needed (`needed` then
/// says how many in all, counted from the front).
std::size_t decode_frame(std::string_view bytes, ws_frame& out, std::size_t& needed);

/// A raw client connection: HTTP requests, then (after an upgrade) WebSocket frames.
class test_client {
public:
    test_client(net::io_context& ioc, std::uint16_t port);

    void send(const http_request& req) { send_raw(serialize(req)); }
    void send_raw(std::string bytes);
    http_response receive(duration limit = io_limit);
    http_response request(const http_request& req) {
        send(req);
        return receive();
    }
    /// True when the server ends the connection within `limit` (anything it sends meanwhile is discarded).
    bool closed_by_peer(duration limit = io_limit);
    /// Writes as much of `bytes` as the server accepts; false when the connection failed meanwhile.
    bool try_send_raw(std::string bytes);
    void close();
    /// Client-side pacing of a stimulus (not synchronisation).
    void pause(duration d);

    // WebSocket.
    void send_frame(int opcode, std::string_view data, bool fin = true, int rsv = 0) {
        send_raw(frame(opcode, data, fin, rsv));
    }
    void send_text(std::string_view data) { send_frame(op_text, data); }
    /// The next frame; nullopt when the server ended the TCP connection.
    std::optional<ws_frame> read_frame(duration limit = io_limit);
    /// The next text frame (skipping nothing: anything else fails the test).
    std::string read_text(duration limit = io_limit);
    /// Reads until a close frame: its code (1005 when it has none), or -1 when the TCP connection ended
    /// without one.
    int read_close_code(duration limit = io_limit);

private:
    net::awaitable<void> connect_op(std::uint16_t port);
    net::awaitable<void> write_op(std::string bytes);
    net::awaitable<bool> try_write_op(std::string bytes);
    net::awaitable<http_response> receive_op(duration limit);
    net::awaitable<bool> closed_op(duration limit);
    net::awaitable<void> pause_op(duration d);
    // Makes `n` bytes available in buffer_; false on EOF/reset.
    net::awaitable<bool> fill(std::size_t n);
    net::awaitable<std::optional<ws_frame>> read_frame_op(duration limit);

    net::io_context* ioc_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
};
} // namespace sio_test
