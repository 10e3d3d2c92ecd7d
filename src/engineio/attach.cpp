#include <sio/engineio/attach.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server_impl.hpp"

namespace sio::engineio {

void attach(server& eio, boost::beast::tcp_stream stream, boost::beast::flat_buffer buffer,
            boost::beast::http::request_header<> header) {
    boost::system::error_code ignored;
    stream.socket().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    auto ex = stream.get_executor();
    boost::asio::co_spawn(ex,
                          detail::serve_attached(eio.impl(), detail::stream(std::move(stream)),
                                                 std::move(buffer), std::move(header)),
                          boost::asio::detached);
}

void attach(server& eio, boost::beast::ssl_stream<boost::beast::tcp_stream> stream,
            boost::beast::flat_buffer buffer, boost::beast::http::request_header<> header) {
    boost::system::error_code ignored;
    stream.next_layer().socket().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    auto ex = stream.get_executor();
    boost::asio::co_spawn(ex,
                          detail::serve_attached(eio.impl(), detail::stream(std::move(stream)),
                                                 std::move(buffer), std::move(header)),
                          boost::asio::detached);
}

} // namespace sio::engineio
