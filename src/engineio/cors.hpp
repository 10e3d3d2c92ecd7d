// Private to the library: the CORS response headers of the Engine.IO server, with the semantics of the
// `cors` npm package the reference uses. No I/O.
#pragma once

#include <sio/options.hpp>

#include <string_view>

namespace sio::engineio::detail {

/// Adds to `h` the CORS headers answering a request from `origin`. `preflight`: an OPTIONS request, whose
/// answer also says the allowed methods and headers (`requested_headers`: its
/// Access-Control-Request-Headers).
void add_cors_headers(const cors_options& c, std::string_view origin, std::string_view requested_headers,
                      header_list& h, bool preflight);

} // namespace sio::engineio::detail
