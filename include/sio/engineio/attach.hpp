// sio — serving Engine.IO / Socket.IO on the port of an existing Boost.Beast HTTP server.
//
// The application reads each request header itself, with a `request_parser<empty_body>`, and hands the
// connections whose target is under the Engine.IO path to sio; every other request stays the
// application's:
//
//     http::request_parser<http::empty_body> parser;
//     co_await http::async_read_header(stream, buffer, parser);
//     if (io.engine().handles(parser.get().target())) {
//         sio::engineio::attach(io.engine(), std::move(stream), std::move(buffer), parser.release().base());
//         co_return; // sio owns the connection now (later requests on it too)
//     }
//     ... the application's own routes ...
//
// Over TLS the application does the TLS handshake, reads the header from its `beast::ssl_stream` and
// hands that stream over the same way (include <boost/beast/ssl.hpp> for the type).
//
// This header includes Beast; the rest of sio's public headers do not.
#pragma once

#include <sio/config.hpp>
#include <sio/engineio/server.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>

namespace boost::beast {
template <class NextLayer>
class ssl_stream; // <boost/beast/ssl/ssl_stream.hpp>
} // namespace boost::beast

namespace sio::engineio {

/// Hands a connection to the Engine.IO server: the request whose `header` the application read (its body,
/// if any, still unread in `buffer`/`stream`) is served, then the following requests of the connection.
/// Thread-safe. The connection is served on the stream's executor.
void attach(server& eio, boost::beast::tcp_stream stream, boost::beast::flat_buffer buffer,
            boost::beast::http::request_header<> header);

/// The same for a connection over TLS whose handshake the application completed. Later requests and a
/// WebSocket upgrade on the connection stay on TLS. The stream's SSL context must outlive the connection.
void attach(server& eio, boost::beast::ssl_stream<boost::beast::tcp_stream> stream,
            boost::beast::flat_buffer buffer, boost::beast::http::request_header<> header);

} // namespace sio::engineio
