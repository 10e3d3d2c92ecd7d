// Links against sio and runs one Engine.IO handshake over loopback: proof that the package is usable.
#include <sio/engineio/server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>

#include <iostream>
#include <thread>

int main() {
    boost::asio::io_context ioc;
    sio::engineio::server eio(ioc.get_executor());
    if (auto ec = eio.listen("127.0.0.1", 0)) {
        std::cerr << ec.message() << "\n";
        return 1;
    }
    // TLS is part of the package: a context (OpenSSL, found through sio's config) and a TLS listener.
    boost::asio::ssl::context tls(boost::asio::ssl::context::tls_server);
    sio::engineio::server eio_tls(ioc.get_executor());
    if (auto ec = eio_tls.listen("127.0.0.1", 0, tls)) {
        std::cerr << "tls listen: " << ec.message() << "\n";
        return 1;
    }
    std::thread runner([&] { ioc.run_for(std::chrono::seconds(10)); });
    boost::asio::io_context client_ctx;
    boost::asio::ip::tcp::socket sock(client_ctx);
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), eio.local_port()});
    const std::string req =
        "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    boost::asio::write(sock, boost::asio::buffer(req));
    std::string response;
    boost::system::error_code ec;
    boost::asio::read(sock, boost::asio::dynamic_buffer(response), ec);
    eio.close();
    eio_tls.close();
    ioc.stop();
    runner.join();
    const bool ok =
        response.starts_with("HTTP/1.1 200") && response.find("\r\n\r\n0{\"sid\":") != std::string::npos;
    std::cout << (ok ? "handshake ok" : "handshake FAILED:\n" + response) << "\n";
    return ok ? 0 : 1;
}
