// Test support: an Engine.IO server served on one of the ways a WebSocket is served (framed by the session,
// Beast with permessage-deflate negotiated, Beast over TLS), and a client that writes HTTP requests and
// WebSocket frames byte for byte over TCP or TLS, so one test case can run over every path.
//
// The server runs on its own io_context in a background thread and records each session's messages and
// close; the client runs on the test thread's io_context. Every client operation and every wait for a
// server event is bounded; no sleep is used as synchronisation.
#pragma once

#include <sio/engineio/server.hpp>
#include <sio/engineio/session.hpp>
#include <sio/error.hpp>
#include <sio/options.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/loopback_client.hpp"
#include "support/tls_cert.hpp"

namespace sio::engineio {
inline std::ostream& operator<<(std::ostream& os, close_reason r) {
    return os << to_string(r);
}
inline std::ostream& operator<<(std::ostream& os, transport_kind t) {
    return os << (t == transport_kind::polling ? "polling" : "websocket");
}
} // namespace sio::engineio

namespace sio_test {

namespace eio = sio::engineio;
namespace ssl = net::ssl;

/// How the server serves the WebSocket.
enum class ws_path { framed, beast_deflate, tls };

inline std::ostream& operator<<(std::ostream& os, ws_path p) {
    switch (p) {
    case ws_path::framed:
        return os << "framed by the session";
    case ws_path::beast_deflate:
        return os << "Beast, permessage-deflate";
    case ws_path::tls:
        return os << "Beast, TLS";
    }
    return os;
}

inline const std::vector<ws_path> all_paths{ws_path::framed, ws_path::beast_deflate, ws_path::tls};

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// --- the client: HTTP and WebSocket frames, byte for byte, over TCP or TLS -------------------------------

class path_client {
public:
    /// `tls`: the client context (TLS path), else plain TCP. `offer_deflate`: upgrade requests offer
    /// permessage-deflate.
    path_client(net::io_context& ioc, std::uint16_t port, ssl::context* tls, bool offer_deflate)
        : ioc_(&ioc), offer_deflate_(offer_deflate) {
        if (tls)
            tls_.emplace(ioc, *tls);
        else
            plain_.emplace(ioc);
        run_io(*ioc_, connect_op(port));
    }

    /// A WebSocket upgrade request for `target`, with the extension offer of this path.
    http_request upgrade_request_for(std::string target) const {
        auto r = upgrade_request(std::move(target));
        if (offer_deflate_)
            r.set(http::field::sec_websocket_extensions, "permessage-deflate");
        return r;
    }

    void send_raw(std::string bytes) {
        run_io(*ioc_, on_stream([&](auto& s) { return write_op(s, std::move(bytes)); }));
    }
    void send(const http_request& req) { send_raw(serialize(req)); }
    http_response receive(duration limit = io_limit) {
        return run_io(*ioc_, on_stream([&](auto& s) { return receive_op(s, limit); }), limit + 1s);
    }
    http_response request(const http_request& req) {
        send(req);
        return receive();
    }
    /// True when the server ends the connection within `limit` (what it sends meanwhile is discarded).
    bool closed_by_peer(duration limit = io_limit) {
        return run_io(*ioc_, on_stream([&](auto& s) { return closed_op(s, limit); }), limit + 1s);
    }
    /// Ends the connection; over TLS with a TLS shutdown first (close_notify both ways, bounded), as a
    /// well-behaved TLS client does.
    void close() {
        if (tls_)
            run_io(*ioc_, tls_shutdown_op());
        boost::system::error_code ignored;
        tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
        tcp().socket().close(ignored);
    }

    void send_frame(int opcode, std::string_view data, bool fin = true) {
        send_raw(frame(opcode, data, fin));
    }
    void send_text(std::string_view data) { send_frame(op_text, data); }
    /// The next frame; nullopt when the server ended the connection.
    std::optional<ws_frame> read_frame(duration limit = io_limit) {
        return run_io(*ioc_, on_stream([&](auto& s) { return read_frame_op(s, limit); }), limit + 1s);
    }
    std::string read_text(duration limit = io_limit) {
        auto f = read_frame(limit);
        if (!f)
            throw std::runtime_error("connection closed while waiting for a text frame");
        if (f->opcode != op_text)
            throw std::runtime_error("expected a text frame, got opcode " + std::to_string(f->opcode));
        return f->data;
    }
    /// Reads until a close frame: its code (1005 without one), or -1 when the connection ended first.
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
    beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
    /// `f(stream)` on the TLS or the plain stream (both give the same awaitable type).
    template <class F>
    auto on_stream(F&& f) -> decltype(f(std::declval<beast::tcp_stream&>())) {
        return tls_ ? f(*tls_) : f(*plain_);
    }

    net::awaitable<void> connect_op(std::uint16_t port) {
        tcp().expires_after(io_limit);
        co_await tcp().async_connect(tcp::endpoint(net::ip::address_v4::loopback(), port),
                                     net::use_awaitable);
        if (tls_) {
            if (!SSL_set_tlsext_host_name(tls_->native_handle(), "localhost"))
                throw std::runtime_error("SNI");
            co_await tls_->async_handshake(ssl::stream_base::client, net::use_awaitable);
        }
    }
    net::awaitable<void> tls_shutdown_op() {
        tcp().expires_after(io_limit);
        co_await tls_->async_shutdown(awaitable_tuple); // the peer may have gone: not the point
    }
    template <class S>
    net::awaitable<void> write_op(S& s, std::string bytes) {
        tcp().expires_after(io_limit);
        co_await net::async_write(s, net::buffer(bytes), net::use_awaitable);
    }
    template <class S>
    net::awaitable<http_response> receive_op(S& s, duration limit) {
        http::response_parser<http::string_body> parser;
        tcp().expires_after(limit);
        co_await http::async_read(s, buffer_, parser, net::use_awaitable);
        co_return parser.release();
    }
    template <class S>
    net::awaitable<bool> closed_op(S& s, duration limit) {
        tcp().expires_after(limit);
        buffer_.clear();
        for (;;) {
            auto [ec, n] = co_await s.async_read_some(buffer_.prepare(64 * 1024), awaitable_tuple);
            buffer_.clear();
            if (ec)
                co_return ec != beast::error::timeout;
        }
    }
    // Makes `n` bytes available in buffer_; false on EOF/reset.
    template <class S>
    net::awaitable<bool> fill(S& s, std::size_t n) {
        while (buffer_.size() < n) {
            auto [ec, got] = co_await s.async_read_some(
                buffer_.prepare(std::max<std::size_t>(n - buffer_.size(), 16 * 1024)), awaitable_tuple);
            buffer_.commit(got);
            if (ec == beast::error::timeout)
                throw boost::system::system_error(ec, "waiting for a WebSocket frame");
            if (ec)
                co_return false;
        }
        co_return true;
    }
    template <class S>
    net::awaitable<std::optional<ws_frame>> read_frame_op(S& s, duration limit) {
        tcp().expires_after(limit);
        for (std::size_t needed = 2;;) {
            if (!co_await fill(s, needed))
                co_return std::nullopt;
            ws_frame f;
            if (const auto used = decode_frame(
                    {static_cast<const char*>(buffer_.data().data()), buffer_.size()}, f, needed)) {
                if (f.rsv) // the messages of these cases are under the deflate threshold
                    throw std::runtime_error("unexpected RSV bits (a compressed frame?)");
                if (f.masked)
                    throw std::runtime_error("the server masked a frame");
                buffer_.consume(used);
                co_return f;
            }
        }
    }

    net::io_context* ioc_;
    bool offer_deflate_ = false;
    std::optional<beast::tcp_stream> plain_;
    std::optional<tls_stream> tls_;
    beast::flat_buffer buffer_;
};

// --- the server under test, on one path ---------------------------------------------------------------

struct close_event {
    eio::close_reason reason;
    std::string description;
};

class path_server {
public:
    /// `configure` runs before the server listens.
    explicit path_server(ws_path path, sio::engine_options options = {},
                         const std::function<void(eio::server&)>& configure = {})
        : path_(path) {
        if (path == ws_path::beast_deflate)
            options.per_message_deflate = sio::per_message_deflate_options{};
        engine_ = std::make_unique<eio::server>(sioc_.get_executor(), std::move(options));
        engine_->on_connection([this](eio::session s) {
            const std::string id = s.id();
            s.on_message([this, id](eio::message&& m) {
                std::lock_guard lock(mutex_);
                messages_.emplace_back(id, std::move(m));
                cv_.notify_all();
            });
            s.on_close([this, id](eio::close_reason r, std::string_view d) {
                std::lock_guard lock(mutex_);
                closes_[id] = close_event{r, std::string(d)};
                cv_.notify_all();
            });
            std::lock_guard lock(mutex_);
            sessions_[id] = s;
            cv_.notify_all();
        });
        if (configure)
            configure(*engine_);
        std::error_code ec;
        if (path == ws_path::tls) {
            identity_ = make_self_signed();
            server_ctx_.use_certificate_chain(net::buffer(identity_.cert_pem));
            server_ctx_.use_private_key(net::buffer(identity_.key_pem), ssl::context::pem);
            client_ctx_.add_certificate_authority(net::buffer(identity_.cert_pem));
            client_ctx_.set_verify_mode(ssl::verify_peer);
            client_ctx_.set_verify_callback(ssl::host_name_verification("localhost"));
            ec = engine_->listen("127.0.0.1", 0, server_ctx_);
        } else {
            ec = engine_->listen("127.0.0.1", 0);
        }
        if (ec)
            throw std::system_error(ec, "listen");
        port_ = engine_->local_port();
        thread_ = std::thread([this] { sioc_.run(); });
    }

    ~path_server() {
        engine_->close();
        sioc_.stop();
        thread_.join();
        std::lock_guard lock(mutex_);
        sessions_.clear();
    }

    eio::server& engine() { return *engine_; }
    path_client connect() {
        return path_client(client_ioc_, port_, path_ == ws_path::tls ? &client_ctx_ : nullptr,
                           path_ == ws_path::beast_deflate);
    }

    /// A WebSocket handshake (no polling): the session id, from the open packet.
    std::string open_websocket(path_client& c) {
        const auto r = c.request(c.upgrade_request_for(websocket_target()));
        BOOST_TEST_REQUIRE(r.result_int() == 101);
        if (path_ == ws_path::beast_deflate)
            BOOST_TEST_REQUIRE(r[http::field::sec_websocket_extensions].starts_with("permessage-deflate"));
        else
            BOOST_TEST_REQUIRE(r[http::field::sec_websocket_extensions].empty());
        const std::string open = c.read_text();
        BOOST_TEST_REQUIRE(open.size() > 1);
        BOOST_TEST_REQUIRE(open.front() == '0');
        return std::string(json::parse(open.substr(1)).at("sid").as_string());
    }
    /// A polling handshake: the session id.
    std::string open_polling(path_client& c) {
        const auto r = c.request(get_request(polling_target()));
        BOOST_TEST_REQUIRE(r.result_int() == 200);
        BOOST_TEST_REQUIRE(r.body().size() > 1);
        return std::string(json::parse(r.body().substr(1)).at("sid").as_string());
    }

    eio::session session(const std::string& sid) {
        std::unique_lock lock(mutex_);
        BOOST_TEST_REQUIRE(cv_.wait_for(lock, io_limit, [&] { return sessions_.count(sid) > 0; }));
        return sessions_.at(sid);
    }
    std::optional<close_event> wait_closed(const std::string& sid, duration limit = io_limit) {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, limit, [&] { return closes_.count(sid) > 0; }))
            return std::nullopt;
        return closes_.at(sid);
    }
    bool is_closed(const std::string& sid) {
        std::lock_guard lock(mutex_);
        return closes_.count(sid) > 0;
    }
    void expect_closed(const std::string& sid, eio::close_reason reason, std::string_view description = {}) {
        const auto c = wait_closed(sid);
        BOOST_TEST_REQUIRE(c.has_value(), "session " << sid << " did not close");
        BOOST_TEST(c->reason == reason);
        if (!description.empty())
            BOOST_TEST(c->description == description);
    }
    /// Waits until session `sid` has received `n` messages; returns them.
    std::vector<eio::message> wait_messages(const std::string& sid, std::size_t n) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, io_limit, [&] { return count_messages(sid) >= n; });
        return messages_of(sid);
    }
    std::vector<eio::message> messages(const std::string& sid) {
        std::lock_guard lock(mutex_);
        return messages_of(sid);
    }

    /// A fresh WebSocket session on this path still opens, carries a message and closes cleanly.
    void check_still_serving() {
        auto c = connect();
        const std::string sid = open_websocket(c);
        c.send_text("4still serving");
        const auto ms = wait_messages(sid, 1);
        BOOST_TEST_REQUIRE(ms.size() == 1u);
        BOOST_TEST(ms[0].data == "still serving");
        c.send_text("1");
        expect_closed(sid, eio::close_reason::transport_close);
    }

private:
    std::size_t count_messages(const std::string& sid) const {
        std::size_t n = 0;
        for (const auto& [id, m] : messages_)
            n += id == sid;
        return n;
    }
    std::vector<eio::message> messages_of(const std::string& sid) const {
        std::vector<eio::message> out;
        for (const auto& [id, m] : messages_)
            if (id == sid)
                out.push_back(m);
        return out;
    }

    ws_path path_;
    tls_identity identity_;
    ssl::context server_ctx_{ssl::context::tls_server};
    ssl::context client_ctx_{ssl::context::tls_client};
    net::io_context sioc_;
    net::executor_work_guard<net::io_context::executor_type> work_{net::make_work_guard(sioc_)};
    std::unique_ptr<eio::server> engine_;
    std::thread thread_;
    std::uint16_t port_ = 0;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::map<std::string, eio::session> sessions_;
    std::vector<std::pair<std::string, eio::message>> messages_;
    std::map<std::string, close_event> closes_;

    net::io_context client_ioc_;
};

inline std::string messages_text(const std::vector<eio::message>& ms) {
    std::string out;
    for (const auto& m : ms)
        out += (m.binary ? "b:" : "t:") + m.data + "|";
    return out;
}

} // namespace sio_test
