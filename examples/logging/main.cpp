// Logging: an echo server whose library logs go to the application's own sink. Port from $PORT (3000 by
// default). `DEBUG=engine,socket.io*` (the `debug` package's syntax) picks the traced scopes; without it,
// only warnings and errors (e.g. an exception escaping a handler) reach the sink.
#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <stdexcept>

/// SIGINT/SIGTERM: closes gracefully (every queued packet written, at most 2 s), then stops the loop.
boost::asio::awaitable<void> shut_down(sio::server& io, boost::asio::io_context& ioc) {
    co_await io.close(std::chrono::seconds(2));
    ioc.stop();
}

int main() {
    // [snippet log-sink]
    // The sink runs on the library's threads, possibly several at once: one lock around the output.
    static std::mutex out;
    sio::set_log_sink([](const sio::log_record& r) {
        std::lock_guard lock(out);
        std::fprintf(stderr, "[%.*s] %.*s: %.*s\n", static_cast<int>(sio::name(r.level).size()),
                     sio::name(r.level).data(), static_cast<int>(sio::name(r.scope).size()),
                     sio::name(r.scope).data(), static_cast<int>(r.message.size()), r.message.data());
    });
    // Either from the environment (what a server would do on its own)...
    if (std::getenv("DEBUG"))
        sio::enable_log_scopes_from_environment();
    else // ...or explicitly; "" would keep tracing off (warnings still reach the custom sink).
        sio::enable_log_scopes("socket.io:server,socket.io:client");
    // [end]

    const char* port_env = std::getenv("PORT");
    const auto port = static_cast<std::uint16_t>(port_env ? std::atoi(port_env) : 3000);
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor());
    io.on_connection([](sio::socket socket) {
        socket.on("message", [](sio::socket s, std::string text) { s.emit("message", text); });
        // A failing handler: the library logs a warning and keeps the connection.
        socket.on("fail", [](sio::socket) { throw std::runtime_error("this handler always fails"); });
    });
    if (const auto ec = io.listen("127.0.0.1", port)) {
        std::cerr << "listen: " << ec.message() << '\n';
        return 1;
    }
    std::cout << "listening " << io.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait(
        [&](auto, int) { boost::asio::co_spawn(ioc, shut_down(io, ioc), boost::asio::detached); });
    ioc.run();
}
