// An Engine.IO server that echoes every message back, configured as the official
// `engine.io-protocol` v4 test suite expects. Port from $PORT (3000 by default), path /engine.io/.
#include <sio/engineio/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <iostream>

int main() {
    const char* port_env = std::getenv("PORT");
    const auto port = static_cast<std::uint16_t>(port_env ? std::atoi(port_env) : 3000);

    sio::engine_options opts;
    opts.path = "/engine.io";
    opts.ping_interval = std::chrono::milliseconds(300);
    opts.ping_timeout = std::chrono::milliseconds(200);
    opts.max_http_buffer_size = 1'000'000;
    opts.cors = sio::cors_options{}; // origin "*"

    boost::asio::io_context ioc;
    sio::engineio::server eio(ioc.get_executor(), opts);
    eio.on_connection([](sio::engineio::session s) {
        s.on_message(
            [s](sio::engineio::message&& m) mutable { s.send(std::move(m.data), {.binary = m.binary}); });
    });
    if (auto ec = eio.listen("0.0.0.0", port)) {
        std::cerr << "cannot listen on port " << port << ": " << ec.message() << "\n";
        return 1;
    }
    std::cout << "Engine.IO echo server listening on http://localhost:" << eio.local_port() << "/engine.io/"
              << std::endl;

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) {
        eio.close();
        ioc.stop();
    });
    ioc.run();
}
