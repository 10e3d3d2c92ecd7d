// The smallest useful Socket.IO server: echoes "message" to its sender and answers "ping" acks.
#include <sio/sio.hpp>

#include <boost/asio/io_context.hpp>

int main() {
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor());
    io.on_connection([](sio::socket socket) {
        socket.on("message", [](sio::socket s, std::string text) { s.emit("message", text); });
        socket.on("ping", [](sio::socket, sio::ack ack) { ack("pong"); });
    });
    io.listen("0.0.0.0", 3000);
    ioc.run();
}
