// Private to the library: the WebSocket transport on Beast's websocket::stream, used for TLS and
// permessage-deflate (its session member functions are in beast_websocket_transport.cpp).
#pragma once

#include <boost/beast/websocket/stream.hpp>

#include "stream.hpp"

namespace sio::engineio::detail {

using ws_stream = boost::beast::websocket::stream<stream>;

} // namespace sio::engineio::detail
