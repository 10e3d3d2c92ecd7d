// Internal: the official browser client served like Node's `serveClient` (see cmake/client_bundle.cmake).
#pragma once
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "../engineio/static_route.hpp"

namespace sio::detail {

using client_bundle_file = engineio::detail::embedded_file; ///< name: e.g. "socket.io.min.js"

/// The embedded files (empty when the library was built without them) and their socket.io-client version.
extern const std::span<const client_bundle_file> client_bundle;
extern const std::string_view client_bundle_version;

/// nullopt when `target` is not a bundle path under `path` (the reference's pattern:
/// `<path>/socket.io[.msgpack|.esm][.min].js[.map]`, query allowed). Otherwise the reply: the file with the
/// reference's content type, `Cache-Control`, `ETag` (the client version, quoted) and 304 on a matching
/// `If-None-Match`; gzip or deflate when accepted (compressed once, then cached); 404 for a name the bundle
/// lacks or when `files` is empty. Thread-safe.
std::optional<engineio::detail::static_reply>
serve_client_bundle(std::string_view path, const engineio::detail::static_request& req,
                    std::span<const client_bundle_file> files = client_bundle,
                    std::string_view version = client_bundle_version);

} // namespace sio::detail
