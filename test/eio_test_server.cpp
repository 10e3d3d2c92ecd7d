// The Engine.IO server the Node interop tests drive (test/interop/engineio.test.mjs).
// Usage: eio_test_server --port 0 --ping-interval MS --ping-timeout MS
// Prints "listening <port>", echoes every message, closes the session on the text message "server-close".
#include <sio/engineio/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
    sio::engine_options opts;
    std::uint16_t port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const long v = std::strtol(argv[i + 1], nullptr, 10);
        if (!std::strcmp(argv[i], "--port"))
            port = static_cast<std::uint16_t>(v);
        else if (!std::strcmp(argv[i], "--ping-interval"))
            opts.ping_interval = std::chrono::milliseconds(v);
        else if (!std::strcmp(argv[i], "--ping-timeout"))
            opts.ping_timeout = std::chrono::milliseconds(v);
    }
    boost::asio::io_context ioc;
    sio::engineio::server eio(ioc.get_executor(), opts);
    eio.on_connection([](sio::engineio::session s) {
        s.on_message([s](sio::engineio::message&& m) mutable {
            if (!m.binary && m.data == "server-close") {
                s.close();
                return;
            }
            s.send(std::move(m.data), {.binary = m.binary});
        });
    });
    if (auto ec = eio.listen("127.0.0.1", port)) {
        std::cerr << "listen: " << ec.message() << "\n";
        return 1;
    }
    std::cout << "listening " << eio.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) {
        eio.close();
        ioc.stop();
    });
    ioc.run();
}
