// Internal: responses the HTTP layer serves before Engine.IO routing (the Socket.IO server's client
// bundle), and HTTP body compression. No Beast types, so the Socket.IO layer can use it cheaply.
#pragma once
#include <sio/options.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sio::engineio::detail {

/// The request fields a static route looks at.
struct static_request {
    std::string_view target;          ///< path and query
    std::string_view if_none_match;   ///< If-None-Match
    std::string_view accept_encoding; ///< Accept-Encoding
};

/// A complete response.
struct static_reply {
    unsigned status = 200;
    header_list headers;
    std::string body;
};

/// nullopt: not this route's request (Engine.IO routing goes on).
using static_route = std::function<std::optional<static_reply>(const static_request&)>;

/// gzip (`gzip == true`) or zlib-wrapped deflate of `in`; empty on failure.
std::string compress(std::string_view in, bool gzip);

} // namespace sio::engineio::detail
