// Socket.IO on the port of an existing Boost.Beast HTTP server: requests under /socket.io/ go to sio, the
// others stay the application's. Port from $PORT (3000 by default).
#include <sio/engineio/attach.hpp>
#include <sio/sio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <iostream>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// The application's own HTTP handling; it hands Engine.IO requests to sio.
net::awaitable<void> serve(beast::tcp_stream stream, sio::server& io) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        auto [ec, n] =
            co_await http::async_read_header(stream, buffer, parser, net::as_tuple(net::use_awaitable));
        if (ec)
            co_return;
        if (io.engine().handles(parser.get().target())) {
            sio::engineio::attach(io.engine(), std::move(stream), std::move(buffer), parser.release().base());
            co_return;
        }
        http::response<http::string_body> res{http::status::ok, parser.get().version()};
        res.set(http::field::content_type, "text/plain");
        res.body() = "hello from the application\n";
        res.keep_alive(parser.get().keep_alive());
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
        if (wec || !res.keep_alive())
            co_return;
    }
}

net::awaitable<void> accept_loop(net::ip::tcp::acceptor acceptor, sio::server& io) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
        if (ec)
            co_return;
        net::co_spawn(acceptor.get_executor(), serve(beast::tcp_stream(std::move(socket)), io),
                      net::detached);
    }
}

/// SIGINT/SIGTERM: closes gracefully (every queued packet written, at most 2 s), then stops the loop.
boost::asio::awaitable<void> shut_down(sio::server& io, boost::asio::io_context& ioc) {
    co_await io.close(std::chrono::seconds(2));
    ioc.stop();
}

int main() {
    const char* port_env = std::getenv("PORT");
    const auto port = static_cast<std::uint16_t>(port_env ? std::atoi(port_env) : 3000);
    net::io_context ioc;
    sio::server io(ioc.get_executor());
    io.on_connection([](sio::socket s) { s.emit("hello", "from sio"); });

    net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("0.0.0.0"), port});
    std::cout << "listening " << acceptor.local_endpoint().port() << std::endl;
    net::co_spawn(ioc, accept_loop(std::move(acceptor), io), net::detached);
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait(
        [&](auto, int) { boost::asio::co_spawn(ioc, shut_down(io, ioc), boost::asio::detached); });
    ioc.run();
}
