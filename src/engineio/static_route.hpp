// Internal: responses the HTTP layer serves before Engine.IO routing (the Socket.IO server's client
// bundle, the Admin UI), how a set of embedded files is served, and HTTP body compression. No Beast types,
// so the layers above can use it cheaply.
#pragma once
#include <sio/options.hpp>

#include <functional>
#include <optional>
#include <span>
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

/// A file embedded in the library at build time (its data lives as long as the process).
struct embedded_file {
    std::string_view name; ///< its path under the route, e.g. "socket.io.min.js", "js/app.js"
    std::string_view data;
};

/// A set of embedded files and how they are served.
struct embedded_files {
    std::span<const embedded_file> files;
    std::string_view etag;        ///< the `ETag` of every file (quoted; the set's version)
    std::string_view missing_set; ///< the 404 body when `files` is empty (built without them)
    bool compress = false;        ///< gzip or deflate when the client accepts one (compressed once, kept)
};

/// The reply for the file `name` of `set`: 404 (`text/plain`, "Not Found\n", or `set.missing_set` when the
/// set is empty) for a name it lacks; 304 when `req.if_none_match` is `set.etag` (or its weak form);
/// otherwise 200 with the file, the headers `headers` (in their order) then `ETag`, and with
/// `set.compress` the file gzipped or deflated (`Content-Encoding`) by the client's Accept-Encoding
/// q-values (gzip on a tie). Thread-safe.
static_reply serve_embedded_file(std::string_view name, const static_request& req, const embedded_files& set,
                                 const header_list& headers);

/// gzip (`gzip == true`) or zlib-wrapped deflate of `in`; empty on failure.
std::string compress(std::string_view in, bool gzip);

} // namespace sio::engineio::detail
