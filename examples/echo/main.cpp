#include <sio/sio.hpp>

#include <boost/asio/signal_set.hpp>

#include <iostream>

int main(int argc, char** argv) {
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor()); // path /socket.io, the reference's defaults
    io.on_connection([](sio::socket socket) {
        socket.on("message", [](sio::socket s, std::string text) { s.emit("message", text); });
        socket.on("ping", [](sio::socket, sio::ack ack) { ack("pong"); });
    });
    io.listen("0.0.0.0", argc > 1 ? std::stoi(argv[1]) : 3000); // port: argv[1], or 3000
    std::cout << "listening " << io.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM); // Ctrl-C: stop
    signals.async_wait([&](auto, int) { ioc.stop(); });
    ioc.run();
}
