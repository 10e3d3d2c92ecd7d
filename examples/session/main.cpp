// The echo example written as a session: one coroutine per socket, from its connection to its
// disconnection, that waits for each event with `co_await socket.receive()` (docs/emitting.md, "A session
// as a coroutine"). Same behaviour as examples/echo: "message" is echoed, "ping" is acknowledged "pong".
#include <sio/sio.hpp>

#include <boost/asio/signal_set.hpp>

#include <iostream>

boost::asio::awaitable<void> echo_session(sio::socket socket) {
    std::size_t echoed = 0; // the session's state: a local variable
    while (auto ev = co_await socket.receive()) {
        if (ev->name == "message") {
            socket.emit_arguments("message", std::move(ev->args));
            ++echoed;
        } else if (ev->name == "ping") {
            ev->ack("pong");
        }
    }
    std::cout << socket.id() << " left (" << sio::to_string(*socket.disconnection_reason()) << ") after "
              << echoed << " echoes" << std::endl;
}

int main(int argc, char** argv) {
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor());
    io.on_connection(echo_session);
    io.listen("0.0.0.0", argc > 1 ? std::stoi(argv[1]) : 3000); // port: argv[1], or 3000
    std::cout << "listening " << io.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM); // Ctrl-C: stop
    signals.async_wait([&](auto, int) { ioc.stop(); });
    ioc.run();
}
