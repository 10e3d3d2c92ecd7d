// Loopback test support shared by the server tests: a raw TCP client that speaks HTTP/1.1 byte for byte
// and, after an upgrade, reads and writes WebSocket frames by hand (so a test can send exactly the bytes
// of a malformed input).
//
// The client runs on an io_context that the test thread drives: every operation is bounded (a deadline on
// the stream and on the loop) and either completes, throws, or reports the peer's close. No sleeps.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "support/client_frame.hpp"

namespace sio_test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;

/// Engine.IO request targets under the default path `/engine.io/` (a handshake without `sid`).
inline std::string polling_target(std::string_view sid = {}) {
    std::string t = "/engine.io/?EIO=4&transport=polling";
    if (!sid.empty())
        t += "&sid=" + std::string(sid);
    return t;
}

inline std::string websocket_target(std::string_view sid = {}) {
    std::string t = "/engine.io/?EIO=4&transport=websocket";
    if (!sid.empty())
        t += "&sid=" + std::string(sid);
    return t;
}
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

inline void drive(net::io_context& ioc, const bool& done, duration limit) {
    ioc.restart();
    const auto deadline = clock_type::now() + limit;
    while (!done)
        if (ioc.run_one_until(deadline) == 0)
            break;
}

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

inline void run_io(net::io_context& ioc, net::awaitable<void> op, duration limit = io_limit + 1s) {
    auto st = std::make_shared<std::pair<bool, std::exception_ptr>>();
    net::co_spawn(ioc, std::move(op), [st](std::exception_ptr ex) {
        st->second = ex;
        st->first = true;
    });
    drive(ioc, st->first, limit);
    if (!st->first)
        throw std::runtime_error("client operation did not complete in time");
    if (st->second)
        std::rethrow_exception(st->second);
}

inline http_request make_request(http::verb method, std::string target, std::string body = {}) {
    http_request r{method, target, 11};
    r.set(http::field::host, "127.0.0.1");
    if (method == http::verb::post || !body.empty())
        r.set(http::field::content_type, "text/plain;charset=UTF-8");
    r.body() = std::move(body);
    r.prepare_payload();
    return r;
}
inline http_request get_request(std::string target) {
    return make_request(http::verb::get, std::move(target));
}
inline http_request post_request(std::string target, std::string body) {
    return make_request(http::verb::post, std::move(target), std::move(body));
}

/// A WebSocket upgrade request with valid handshake headers.
inline http_request upgrade_request(std::string target) {
    http_request r{http::verb::get, target, 11};
    r.set(http::field::host, "127.0.0.1");
    r.set(http::field::upgrade, "websocket");
    r.set(http::field::connection, "Upgrade");
    r.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    r.set(http::field::sec_websocket_version, "13");
    return r;
}

inline std::string serialize(const http_request& r) {
    std::ostringstream os;
    os << r;
    return os.str();
}

inline std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xff));
    p.append(reason);
    return p;
}

struct ws_frame {
    int opcode = 0;
    bool fin = true;
    std::string data;
};

/// A raw client connection: HTTP requests, then (after an upgrade) WebSocket frames.
class test_client {
public:
    test_client(net::io_context& ioc, std::uint16_t port) : ioc_(&ioc), stream_(ioc) {
        run_io(*ioc_, connect_op(port));
    }

    void send(const http_request& req) { send_raw(serialize(req)); }
    void send_raw(std::string bytes) { run_io(*ioc_, write_op(std::move(bytes))); }
    http_response receive(duration limit = io_limit) { return run_io(*ioc_, receive_op(limit), limit + 1s); }
    http_response request(const http_request& req) {
        send(req);
        return receive();
    }
    /// True when the server ends the connection within `limit` (anything it sends meanwhile is discarded).
    bool closed_by_peer(duration limit = io_limit) { return run_io(*ioc_, closed_op(limit), limit + 1s); }
    /// Writes as much of `bytes` as the server accepts; false when the connection failed meanwhile.
    bool try_send_raw(std::string bytes) { return run_io(*ioc_, try_write_op(std::move(bytes))); }
    void close() {
        boost::system::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.socket().close(ignored);
    }
    /// Client-side pacing of a stimulus (not synchronisation).
    void pause(duration d) { run_io(*ioc_, pause_op(d)); }

    // WebSocket.
    void send_frame(int opcode, std::string_view data, bool fin = true, int rsv = 0) {
        send_raw(frame(opcode, data, fin, rsv));
    }
    void send_text(std::string_view data) { send_frame(op_text, data); }
    /// The next frame; nullopt when the server ended the TCP connection.
    std::optional<ws_frame> read_frame(duration limit = io_limit) {
        return run_io(*ioc_, read_frame_op(limit), limit + 1s);
    }
    /// The next text frame (skipping nothing: anything else fails the test).
    std::string read_text(duration limit = io_limit) {
        auto f = read_frame(limit);
        if (!f)
            throw std::runtime_error("connection closed while waiting for a text frame");
        if (f->opcode != op_text)
            throw std::runtime_error("expected a text frame, got opcode " + std::to_string(f->opcode));
        return f->data;
    }
    /// Reads until a close frame: its code (1005 when it has none), or -1 when the TCP connection ended
    /// without one.
    int read_close_code(duration limit = io_limit) {
        for (;;) {
            auto f = read_frame(limit);
            if (!f)
                return -1;
            if (f->opcode == op_close)
                return f->data.size() >= 2 ? (static_cast<unsigned char>(f->data[0]) << 8) |
                                                 static_cast<unsigned char>(f->data[1])
                                           : 1005;
        }
    }

private:
    net::awaitable<void> connect_op(std::uint16_t port) {
        stream_.expires_after(io_limit);
        co_await stream_.async_connect(tcp::endpoint(net::ip::address_v4::loopback(), port),
                                       net::use_awaitable);
    }
    net::awaitable<void> write_op(std::string bytes) {
        stream_.expires_after(io_limit);
        co_await net::async_write(stream_, net::buffer(bytes), net::use_awaitable);
    }
    net::awaitable<bool> try_write_op(std::string bytes) {
        stream_.expires_after(io_limit);
        auto [ec, n] = co_await net::async_write(stream_, net::buffer(bytes), awaitable_tuple);
        if (ec == beast::error::timeout)
            throw boost::system::system_error(ec);
        co_return !ec;
    }
    net::awaitable<http_response> receive_op(duration limit) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        stream_.expires_after(limit);
        co_await http::async_read(stream_, buffer_, parser, net::use_awaitable);
        co_return parser.release();
    }
    net::awaitable<bool> closed_op(duration limit) {
        stream_.expires_after(limit);
        buffer_.clear();
        for (;;) {
            auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(64 * 1024), awaitable_tuple);
            buffer_.clear();
            if (ec)
                co_return ec != beast::error::timeout;
        }
    }
    net::awaitable<void> pause_op(duration d) {
        net::steady_timer t(*ioc_);
        t.expires_after(d);
        co_await t.async_wait(net::use_awaitable);
    }
    // Makes `n` bytes available in buffer_; false on EOF/reset.
    net::awaitable<bool> fill(std::size_t n) {
        while (buffer_.size() < n) {
            auto [ec, got] = co_await stream_.async_read_some(
                buffer_.prepare(std::max<std::size_t>(n - buffer_.size(), 16 * 1024)), awaitable_tuple);
            buffer_.commit(got);
            if (ec == beast::error::timeout)
                throw boost::system::system_error(ec, "waiting for a WebSocket frame");
            if (ec)
                co_return false;
        }
        co_return true;
    }
    unsigned char byte(std::size_t i) const {
        return static_cast<const unsigned char*>(buffer_.data().data())[i];
    }
    net::awaitable<std::optional<ws_frame>> read_frame_op(duration limit) {
        stream_.expires_after(limit);
        if (!co_await fill(2))
            co_return std::nullopt;
        ws_frame f;
        f.fin = (byte(0) & 0x80) != 0;
        f.opcode = byte(0) & 0x0f;
        const bool masked = (byte(1) & 0x80) != 0;
        std::uint64_t len = byte(1) & 0x7f;
        std::size_t header = 2;
        if (len == 126) {
            if (!co_await fill(4))
                co_return std::nullopt;
            len = (std::uint64_t{byte(2)} << 8) | byte(3);
            header = 4;
        } else if (len == 127) {
            if (!co_await fill(10))
                co_return std::nullopt;
            len = 0;
            for (std::size_t i = 2; i < 10; ++i)
                len = (len << 8) | byte(i);
            header = 10;
        }
        const std::size_t key_at = header;
        if (masked)
            header += 4;
        if (!co_await fill(header + len))
            co_return std::nullopt;
        f.data.assign(static_cast<const char*>(buffer_.data().data()) + header, len);
        if (masked)
            for (std::size_t i = 0; i < f.data.size(); ++i)
                f.data[i] = static_cast<char>(f.data[i] ^ static_cast<char>(byte(key_at + i % 4)));
        buffer_.consume(header + len);
        co_return f;
    }

    net::io_context* ioc_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
};
} // namespace sio_test
