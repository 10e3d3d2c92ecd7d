// Engine.IO over TLS on loopback: HTTPS long-polling, WSS (direct and by upgrade), a Beast HTTPS server
// handing connections to sio (`attach`), and hostile peers on the TLS port (plain HTTP, garbage, silence)
// that must lose their own connection only.
//
// The certificate is made at run time (support/tls_cert.hpp); the client trusts exactly it and checks the
// host name. The server runs on its own io_context in a background thread, the clients on the test
// thread's io_context; every client operation is bounded (stream deadlines and run_io's limit).
#include <sio/engineio/attach.hpp>
#include <sio/engineio/server.hpp>
#include <sio/engineio/session.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <thread>

#include "support/loopback_client.hpp"
#include "support/tls_cert.hpp"

namespace {

using namespace sio_test;
namespace websocket = boost::beast::websocket;
namespace eio = sio::engineio;
namespace ssl = net::ssl;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

std::string sid_of(std::string_view open_packet) {
    BOOST_TEST_REQUIRE(open_packet.size() > 1);
    BOOST_TEST_REQUIRE(open_packet.front() == '0');
    return std::string(json::parse(open_packet.substr(1)).at("sid").as_string());
}

// --- the application side of `attach` (a minimal Beast HTTPS server) ------------------------------------

net::awaitable<void> app_connection(tcp::socket socket, ssl::context* ctx, eio::server* engine) {
    tls_stream s(beast::tcp_stream(std::move(socket)), *ctx);
    s.next_layer().expires_after(io_limit);
    auto [hec] = co_await s.async_handshake(ssl::stream_base::server, awaitable_tuple);
    if (hec)
        co_return;
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    auto [rec, n] = co_await http::async_read_header(s, buffer, parser, awaitable_tuple);
    if (rec)
        co_return;
    if (engine->handles(parser.get().target())) {
        eio::attach(*engine, std::move(s), std::move(buffer), parser.release().base());
        co_return;
    }
    http::response<http::string_body> res{http::status::not_found, 11};
    res.body() = "from the application";
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(s, res, awaitable_tuple);
}

net::awaitable<void> app_accept_loop(tcp::acceptor* acceptor, ssl::context* ctx, eio::server* engine) {
    for (;;) {
        auto [ec, socket] = co_await acceptor->async_accept(awaitable_tuple);
        if (ec)
            co_return;
        net::co_spawn(acceptor->get_executor(), app_connection(std::move(socket), ctx, engine),
                      net::detached);
    }
}

// --- the server under test -----------------------------------------------------------------------------

/// An echo server over TLS: `listen` with the context, or (`attached`) a Beast HTTPS server that hands the
/// Engine.IO requests over.
class tls_server {
public:
    explicit tls_server(sio::engine_options options = {}, bool attached = false)
        : identity_(make_self_signed()), work_(net::make_work_guard(sioc_)) {
        server_ctx_.use_certificate_chain(net::buffer(identity_.cert_pem));
        server_ctx_.use_private_key(net::buffer(identity_.key_pem), ssl::context::pem);
        client_ctx_.add_certificate_authority(net::buffer(identity_.cert_pem));
        client_ctx_.set_verify_mode(ssl::verify_peer);
        client_ctx_.set_verify_callback(ssl::host_name_verification("localhost"));

        engine_ = std::make_unique<eio::server>(sioc_.get_executor(), std::move(options));
        engine_->on_connection([](eio::session s) {
            s.on_message([s](eio::message&& m) { s.send(std::move(m.data), {.binary = m.binary}); });
        });
        if (attached) {
            acceptor_.emplace(sioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
            port_ = acceptor_->local_endpoint().port();
            net::co_spawn(sioc_, app_accept_loop(&*acceptor_, &server_ctx_, engine_.get()), net::detached);
        } else {
            if (const auto ec = engine_->listen("127.0.0.1", 0, server_ctx_))
                throw std::system_error(ec, "listen");
            port_ = engine_->local_port();
        }
        thread_ = std::thread([this] { sioc_.run(); });
    }

    ~tls_server() {
        engine_->close();
        if (acceptor_)
            net::post(sioc_, [this] { acceptor_->close(); });
        sioc_.stop();
        thread_.join();
    }

    std::uint16_t port() const { return port_; }
    ssl::context& client_context() { return client_ctx_; }
    net::io_context& io() { return client_ioc_; }
    std::size_t clients_count() const { return engine_->clients_count(); }

private:
    tls_identity identity_;
    ssl::context server_ctx_{ssl::context::tls_server};
    ssl::context client_ctx_{ssl::context::tls_client};
    net::io_context sioc_;
    net::executor_work_guard<net::io_context::executor_type> work_;
    std::unique_ptr<eio::server> engine_;
    std::optional<tcp::acceptor> acceptor_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    net::io_context client_ioc_;
};

// --- client operations -----------------------------------------------------------------------------------

net::awaitable<void> tls_connect(tls_stream& s, std::uint16_t port) {
    auto& tcp_layer = beast::get_lowest_layer(s);
    tcp_layer.expires_after(io_limit);
    co_await tcp_layer.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                                     net::use_awaitable);
    if (!SSL_set_tlsext_host_name(s.native_handle(), "localhost"))
        throw std::runtime_error("SNI");
    co_await s.async_handshake(ssl::stream_base::client, net::use_awaitable);
}

net::awaitable<http_response> roundtrip(tls_stream& s, beast::flat_buffer& buffer, http_request req) {
    beast::get_lowest_layer(s).expires_after(io_limit);
    co_await http::async_write(s, req, net::use_awaitable);
    http_response res;
    co_await http::async_read(s, buffer, res, net::use_awaitable);
    co_return res;
}

using wss = websocket::stream<tls_stream>;

net::awaitable<std::string> ws_read(wss& ws) {
    beast::get_lowest_layer(ws).expires_after(io_limit);
    beast::flat_buffer buffer;
    co_await ws.async_read(buffer, net::use_awaitable);
    co_return beast::buffers_to_string(buffer.data());
}

net::awaitable<void> ws_write(wss& ws, std::string text) {
    beast::get_lowest_layer(ws).expires_after(io_limit);
    ws.text(true);
    co_await ws.async_write(net::buffer(text), net::use_awaitable);
}

/// Polling handshake, a message echoed over polling, then the upgrade to WebSocket on a second TLS
/// connection and a message echoed over it.
net::awaitable<void> polling_then_upgrade(tls_server* ts) {
    auto ex = co_await net::this_coro::executor;
    tls_stream poll(ex, ts->client_context());
    co_await tls_connect(poll, ts->port());
    beast::flat_buffer buffer;
    auto res = co_await roundtrip(poll, buffer, get_request(polling_target()));
    BOOST_TEST_REQUIRE(res.result_int() == 200);
    const std::string sid = sid_of(res.body());

    res = co_await roundtrip(poll, buffer, post_request(polling_target(sid), "4hello over https"));
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == "ok");
    res = co_await roundtrip(poll, buffer, get_request(polling_target(sid)));
    BOOST_TEST(res.body() == "4hello over https");

    wss ws(tls_stream(ex, ts->client_context()));
    co_await tls_connect(ws.next_layer(), ts->port());
    co_await ws.async_handshake("localhost", websocket_target(sid), net::use_awaitable);
    co_await ws_write(ws, "2probe");
    BOOST_TEST(co_await ws_read(ws) == "3probe");
    co_await ws_write(ws, "5");
    co_await ws_write(ws, "4hello over wss");
    BOOST_TEST(co_await ws_read(ws) == "4hello over wss");
    beast::get_lowest_layer(ws).expires_after(io_limit);
    co_await ws.async_close(websocket::close_code::normal, net::use_awaitable);
}

/// A WebSocket-only session: open packet, a text and a binary message echoed.
net::awaitable<void> websocket_only(tls_server* ts) {
    auto ex = co_await net::this_coro::executor;
    wss ws(tls_stream(ex, ts->client_context()));
    co_await tls_connect(ws.next_layer(), ts->port());
    co_await ws.async_handshake("localhost", websocket_target(), net::use_awaitable);
    BOOST_TEST(!sid_of(co_await ws_read(ws)).empty());
    co_await ws_write(ws, "4text");
    BOOST_TEST(co_await ws_read(ws) == "4text");
    const std::string binary("\x00\x01\xff", 3);
    ws.binary(true);
    co_await ws.async_write(net::buffer(binary), net::use_awaitable);
    BOOST_TEST(co_await ws_read(ws) == binary);
    BOOST_TEST(ws.got_binary());
    beast::get_lowest_layer(ws).expires_after(io_limit);
    co_await ws.async_close(websocket::close_code::normal, net::use_awaitable);
}

/// What a raw TCP peer sends to the TLS port, and what it saw before the server ended the connection.
struct raw_outcome {
    std::string received;
    beast::error_code end; // how the connection ended (eof / reset), or timeout when the server never did
    clock_type::duration elapsed{};
};

net::awaitable<raw_outcome> raw_peer(std::uint16_t port, std::string bytes) {
    auto ex = co_await net::this_coro::executor;
    beast::tcp_stream s(ex);
    s.expires_after(io_limit);
    co_await s.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), net::use_awaitable);
    const auto start = clock_type::now();
    if (!bytes.empty())
        co_await net::async_write(s, net::buffer(bytes), awaitable_tuple); // the server may reset first
    raw_outcome out;
    char chunk[4096];
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(net::buffer(chunk), awaitable_tuple);
        out.received.append(chunk, n);
        if (ec) {
            out.end = ec;
            break;
        }
    }
    out.elapsed = clock_type::now() - start;
    co_return out;
}

void expect_dropped(const raw_outcome& r) {
    BOOST_TEST(!(r.end == beast::error::timeout), "the server did not end the connection");
    BOOST_TEST((r.end == net::error::eof || r.end == net::error::connection_reset), r.end.message());
    BOOST_TEST(r.received.find("HTTP/") == std::string::npos, "plain HTTP answered on the TLS port");
}

} // namespace

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(https_polling_and_upgrade_to_wss) {
    tls_server ts;
    run_io(ts.io(), polling_then_upgrade(&ts), 2 * io_limit);
}

BOOST_AUTO_TEST_CASE(wss_without_polling) {
    tls_server ts;
    run_io(ts.io(), websocket_only(&ts), 2 * io_limit);
}

BOOST_AUTO_TEST_CASE(attach_from_a_beast_https_server) {
    tls_server ts({}, true);
    run_io(ts.io(), polling_then_upgrade(&ts), 2 * io_limit);
    run_io(ts.io(), websocket_only(&ts), 2 * io_limit);
}

BOOST_AUTO_TEST_CASE(hostile_peers_lose_only_their_connection) {
    sio::engine_options o;
    o.header_timeout = std::chrono::milliseconds(300); // bounds the TLS handshake too
    tls_server ts(o);

    BOOST_TEST_CONTEXT("plain HTTP on the TLS port") {
        const auto r = run_io(ts.io(), raw_peer(ts.port(), serialize(get_request(polling_target()))));
        expect_dropped(r);
    }
    BOOST_TEST_CONTEXT("garbage") {
        std::string garbage(20000, '\0');
        for (std::size_t i = 0; i < garbage.size(); ++i)
            garbage[i] = static_cast<char>((i * 7919 + 13) & 0xff);
        expect_dropped(run_io(ts.io(), raw_peer(ts.port(), garbage)));
    }
    BOOST_TEST_CONTEXT("a TLS record header announcing a huge record, then silence") {
        expect_dropped(run_io(ts.io(), raw_peer(ts.port(), std::string("\x16\x03\x01\xff\xff", 5))));
    }
    BOOST_TEST_CONTEXT("silence: the handshake times out") {
        const auto r = run_io(ts.io(), raw_peer(ts.port(), {}));
        expect_dropped(r);
        BOOST_TEST(r.elapsed < io_limit / 2);
    }
    // The server still serves TLS clients.
    run_io(ts.io(), websocket_only(&ts), 2 * io_limit);
    run_io(ts.io(), polling_then_upgrade(&ts), 2 * io_limit);
}

BOOST_AUTO_TEST_CASE(a_client_that_rejects_the_certificate_costs_one_connection) {
    tls_server ts;
    // A client trusting nothing fails its handshake; the server drops that connection and goes on.
    ssl::context strict{ssl::context::tls_client};
    strict.set_verify_mode(ssl::verify_peer);
    struct attempt {
        static net::awaitable<bool> run(ssl::context* ctx, std::uint16_t port) {
            auto ex = co_await net::this_coro::executor;
            tls_stream s(ex, *ctx);
            try {
                co_await tls_connect(s, port);
            } catch (const boost::system::system_error&) {
                co_return false;
            }
            co_return true;
        }
    };
    BOOST_TEST(!run_io(ts.io(), attempt::run(&strict, ts.port())));
    run_io(ts.io(), websocket_only(&ts), 2 * io_limit);
}

BOOST_AUTO_TEST_SUITE_END()
