// Quoted by docs/client-bundle.md and docs/tls.md.
#include <sio/engineio/attach.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "snippets.hpp"

namespace snippets {

void without_client_bundle() {
    boost::asio::io_context ioc;
    // [snippet serve-client-off]
    sio::server_options options;
    options.serve_client = false; // /socket.io/socket.io.js etc. go to Engine.IO like any other request
    sio::server io(ioc.get_executor(), options);
    // [end]
}

// [snippet tls-attach]
boost::asio::awaitable<void> serve_https(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls,
                                         sio::server& io) {
    namespace beast = boost::beast;
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls);
    stream.next_layer().expires_after(std::chrono::seconds(10));
    co_await stream.async_handshake(boost::asio::ssl::stream_base::server, boost::asio::use_awaitable);
    beast::flat_buffer buffer;
    beast::http::request_parser<beast::http::empty_body> parser;
    co_await beast::http::async_read_header(stream, buffer, parser, boost::asio::use_awaitable);
    if (io.engine().handles(parser.get().target())) {
        stream.next_layer().expires_never();
        sio::engineio::attach(io.engine(), std::move(stream), std::move(buffer), parser.release().base());
        co_return; // sio owns the connection (later requests and a WebSocket upgrade stay on TLS)
    }
    // ... the application's own routes ...
}
// [end]

} // namespace snippets
