// A Socket.IO server configured and behaving as the official `socket.io-protocol` v5 test suite expects.
// Port from $PORT (3000 by default).
#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <iostream>

/// SIGINT/SIGTERM: closes gracefully (every queued packet written, at most 2 s), then stops the loop.
boost::asio::awaitable<void> shut_down(sio::server& io, boost::asio::io_context& ioc) {
    co_await io.close(std::chrono::seconds(2));
    ioc.stop();
}

int main() {
    const char* port_env = std::getenv("PORT");
    const auto port = static_cast<std::uint16_t>(port_env ? std::atoi(port_env) : 3000);

    sio::server_options opts;
    opts.engine.ping_interval = std::chrono::milliseconds(300);
    opts.engine.ping_timeout = std::chrono::milliseconds(200);
    opts.engine.max_http_buffer_size = 1'000'000;
    opts.engine.cors = sio::cors_options{};
    opts.connect_timeout = std::chrono::milliseconds(1000);

    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor(), opts);

    auto on_connection = [](sio::socket socket) {
        socket.emit("auth", socket.handshake().auth);
        socket.on("message",
                  [](sio::socket s, sio::event& ev) { s.emit_arguments("message-back", ev.args); });
        socket.on("message-with-ack", [](sio::socket, sio::event& ev) { ev.ack.send(ev.args); });
    };
    io.on_connection(on_connection);
    io.of("/custom").on_connection(on_connection);

    if (auto ec = io.listen("0.0.0.0", port)) {
        std::cerr << "cannot listen on port " << port << ": " << ec.message() << "\n";
        return 1;
    }
    std::cout << "listening " << io.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait(
        [&](auto, int) { boost::asio::co_spawn(ioc, shut_down(io, ioc), boost::asio::detached); });
    ioc.run();
}
