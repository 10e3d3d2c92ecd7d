// The smallest useful Socket.IO server: echoes "message" to its sender and answers "ping" acks.
#include <sio/sio.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <iostream>

int main() {
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor()); // path /socket.io, the reference's defaults
    io.on_connection([](sio::socket socket) {
        socket.on("message", [](sio::socket s, std::string text) { s.emit("message", text); });
        socket.on("ping", [](sio::socket, sio::ack ack) { ack("pong"); });
    });
    io.listen("0.0.0.0", std::getenv("PORT") ? std::atoi(std::getenv("PORT")) : 3000);
    std::cout << "listening " << io.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { ioc.stop(); });
    ioc.run();
}
