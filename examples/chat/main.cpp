// The Socket.IO chat: open http://localhost:3000 in two browser windows.
//
// A C++ server and a small web page (examples/chat/public) that uses only the official browser client,
// served by sio itself at /socket.io/socket.io.min.js. The page and sio share one port: a Boost.Beast
// HTTP server serves the files and hands /socket.io/ requests to sio (see site.cpp).
//
// Env: PORT (3000; 0 picks a free port), PUBLIC_DIR (the page's folder). Stops on SIGINT/SIGTERM, closing
// every connection gracefully.
#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <iostream>

#include "chat.hpp"
#include "site.hpp"

#ifndef CHAT_PUBLIC_DIR
#define CHAT_PUBLIC_DIR "public"
#endif

namespace net = boost::asio;

namespace {

/// SIGINT/SIGTERM: no new connection; every socket gets "server shutting down" and its queued packets
/// (at most 2 s); then the loop stops (the site's idle keep-alive connections do not hold the exit).
net::awaitable<void> shut_down(sio::server& io, net::ip::tcp::acceptor& acceptor, net::io_context& ioc) {
    acceptor.close();
    co_await io.close(std::chrono::seconds(2));
    ioc.stop();
}

} // namespace

int main() {
    const char* port_env = std::getenv("PORT");
    const char* public_env = std::getenv("PUBLIC_DIR");
    const auto port = static_cast<std::uint16_t>(port_env ? std::atoi(port_env) : 3000);

    net::io_context ioc;
    sio::server io(ioc.get_executor());
    chat::install(io);

    net::ip::tcp::acceptor acceptor(ioc);
    boost::system::error_code ec;
    const net::ip::tcp::endpoint endpoint{net::ip::make_address("0.0.0.0"), port};
    if (acceptor.open(endpoint.protocol(), ec); !ec)
        acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor.bind(endpoint, ec);
    if (!ec)
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        std::cerr << "chat: cannot listen on port " << port << ": " << ec.message() << "\n";
        return 1;
    }
    chat::serve_site(acceptor, io, public_env ? public_env : CHAT_PUBLIC_DIR);
    std::cout << "chat: open http://localhost:" << acceptor.local_endpoint().port() << std::endl;

    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& error, int) {
        if (!error)
            net::co_spawn(ioc, shut_down(io, acceptor, ioc), net::detached);
    });
    ioc.run();
}
