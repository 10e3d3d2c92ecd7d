// A Socket.IO echo server over HTTPS and WSS.
//
//     tls_echo <certificate chain PEM> <private key PEM>
//
// The files may also come from $TLS_CERT and $TLS_KEY; the port from $PORT (3000 by default). Prints
// "listening <port>"; stops on SIGINT/SIGTERM. A certificate for trying it out:
//
//     openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
//         -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem
#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstdlib>
#include <iostream>

/// SIGINT/SIGTERM: closes gracefully (every queued packet written, at most 2 s), then stops the loop.
boost::asio::awaitable<void> shut_down(sio::server& io, boost::asio::io_context& ioc) {
    co_await io.close(std::chrono::seconds(2));
    ioc.stop();
}

int main(int argc, char** argv) {
    const char* cert = argc > 2 ? argv[1] : std::getenv("TLS_CERT");
    const char* key = argc > 2 ? argv[2] : std::getenv("TLS_KEY");
    if (!cert || !key) {
        std::cerr << "usage: tls_echo <cert.pem> <key.pem> (or TLS_CERT and TLS_KEY)\n";
        return 2;
    }
    const char* port_env = std::getenv("PORT");
    const auto port = static_cast<std::uint16_t>(port_env ? std::atoi(port_env) : 3000);

    // [snippet tls-context]
    // The TLS context: a server certificate chain and its key. sio uses it by reference, so it lives as long
    // as the server (here: all of main).
    boost::asio::ssl::context tls(boost::asio::ssl::context::tls_server);
    tls.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_tlsv1 |
                    boost::asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    tls.use_certificate_chain_file(cert, ec);
    if (!ec)
        tls.use_private_key_file(key, boost::asio::ssl::context::pem, ec);
    if (ec) {
        std::cerr << "cannot load the certificate or key: " << ec.message() << "\n";
        return 1;
    }
    // [end]

    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor());
    io.on_connection([](sio::socket socket) {
        socket.on("message", [](sio::socket s, std::string text) { s.emit("message", text); });
        socket.on("ping", [](sio::socket, sio::ack ack) { ack("pong"); });
    });

    // [snippet tls-listen]
    if (auto error = io.listen("0.0.0.0", port, tls)) { // https:// and wss:// on the same port
        std::cerr << "cannot listen on port " << port << ": " << error.message() << "\n";
        return 1;
    }
    // [end]
    std::cout << "listening " << io.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait(
        [&](auto, int) { boost::asio::co_spawn(ioc, shut_down(io, ioc), boost::asio::detached); });
    ioc.run();
}
