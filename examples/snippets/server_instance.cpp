// Snippets of docs/server-instance.md: creating, configuring, starting and stopping a sio::server.
// The regions between "[snippet NAME]" and "[end]" are quoted verbatim by the guide
// (tools/check-doc-snippets.py keeps them in sync).
#include <sio/engineio/attach.hpp>
#include <sio/sio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <iostream>
#include <string>

#include "snippets.hpp"

namespace snippets {

using namespace std::chrono_literals;

int minimal_server() {
    // [snippet server-minimal]
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor()); // the reference's defaults, path "/socket.io"
    io.on_connection([](sio::socket socket) { socket.emit("hello", "world"); });
    if (std::error_code ec = io.listen("0.0.0.0", 3000)) {
        std::cerr << "listen: " << ec.message() << "\n";
        return 1;
    }
    ioc.run();
    // [end]
    return 0;
}

sio::server_options configured_options() {
    // [snippet server-options]
    sio::server_options options;
    options.connect_timeout = 45s;                 // a connection must join a namespace within this time
    options.cleanup_empty_child_namespaces = true; // drop a dynamic namespace with its last socket
    options.engine.path = "/socket.io";            // the endpoint (this is the default)
    options.engine.ping_interval = 25s;
    options.engine.ping_timeout = 20s;
    options.engine.max_http_buffer_size = 1'000'000; // bytes, per message or POST body
    options.engine.cors = sio::cors_options{.origins = {"https://example.com"}, .credentials = true};
    options.engine.cookie = sio::cookie_options{}; // "io=<sid>; Path=/; HttpOnly; SameSite=Lax"
    // [end]
    return options;
}

void only_websocket(sio::server_options& options) {
    // [snippet server-transports]
    options.engine.polling = false; // WebSocket only: clients must use transports: ["websocket"]
    // [end]
}

void engine_attributes(sio::server& io) {
    // [snippet engine-clients-count]
    std::size_t connections = io.engine().clients_count();  // Engine.IO sessions, whatever their namespaces
    std::size_t main_sockets = io.of("/").sockets().size(); // sockets of "/" on this server
    // [end]
    std::cout << connections << " " << main_sockets << "\n";
}

std::string next_id() {
    static std::atomic<unsigned long> counter{0};
    return "sid-" + std::to_string(++counter);
}

void engine_generate_id(sio::server& io) {
    // [snippet engine-generate-id]
    io.engine().generate_id([](const sio::request_info& request) -> boost::asio::awaitable<std::string> {
        // May suspend (ask a database...). Must be unique across every server of a cluster.
        std::cout << "handshake from " << request.remote_address << "\n";
        co_return next_id();
    });
    // [end]
}

void engine_events(sio::server& io) {
    // [snippet engine-headers]
    // The handshake response only (first request of a session, polling or WebSocket).
    io.engine().on_initial_headers([](sio::header_list& headers, const sio::request_info&) {
        headers.set("X-Served-By", "sio");
        headers.add("Set-Cookie", "greeting=hello; Path=/");
    });
    // Every response of a session, the WebSocket upgrade included.
    io.engine().on_headers([](sio::header_list& headers, const sio::request_info& request) {
        if (request.query("transport") == "polling")
            headers.set("Cache-Control", "no-store");
    });
    // [end]

    // [snippet engine-connection-error]
    io.engine().on_connection_error([](const sio::engineio::connection_error& e) {
        std::cerr << e.request.method << " " << e.request.target << " from " << e.request.remote_address
                  << ": code " << static_cast<int>(e.code) << " " << e.message << " "
                  << boost::json::serialize(e.context) << "\n";
        if (e.code == sio::engineio::connection_error_code::unknown_sid) {
            // a client came back after its session ended (restart, ping timeout...)
        }
    });
    // [end]
}

void allow_request(sio::server_options& options) {
    // [snippet engine-allow-request]
    options.engine.allow_request =
        [](const sio::request_info& request) -> boost::asio::awaitable<sio::allow_result> {
        if (request.headers.get("Origin") == "https://evil.example")
            co_return sio::allow_result::deny("origin not allowed");
        co_return sio::allow_result::allow();
    };
    // [end]
}

namespace http = boost::beast::http;

// [snippet server-attach]
// The application's HTTP server reads each request header; requests under the Engine.IO path are
// handed to sio with the connection, the others are answered by the application.
boost::asio::awaitable<void> serve_http(boost::beast::tcp_stream stream, sio::server& io) {
    boost::beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser,
                                                        boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec)
            co_return;
        if (io.engine().handles(parser.get().target())) {
            sio::engineio::attach(io.engine(), std::move(stream), std::move(buffer), parser.release().base());
            co_return; // the connection is sio's now
        }
        http::response<http::string_body> res{http::status::ok, parser.get().version()};
        res.body() = "the application's own page\n";
        res.keep_alive(parser.get().keep_alive());
        res.prepare_payload();
        auto [wec, wn] =
            co_await http::async_write(stream, res, boost::asio::as_tuple(boost::asio::use_awaitable));
        if (wec || !res.keep_alive())
            co_return;
    }
}
// [end]

// [snippet server-close]
/// Closes gracefully, then stops the loop.
boost::asio::awaitable<void> shut_down(sio::server& io, boost::asio::io_context& ioc) {
    co_await io.close(std::chrono::seconds(2)); // queued packets written, at most 2 s
    ioc.stop();
}
// [end]

int close_on_signal() {
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor());
    if (io.listen("127.0.0.1", 0))
        return 1;
    // [snippet server-signals]
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) {
        boost::asio::co_spawn(ioc, shut_down(io, ioc), boost::asio::detached);
    });
    ioc.run();
    // [end]
    return 0;
}

} // namespace snippets
