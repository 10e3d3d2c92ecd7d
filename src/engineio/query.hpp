// Private to the library: the parts of a request's query string that Engine.IO routes on.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sio::engineio::detail {

/// `EIO`, `transport`, `sid` (the first of each; decoded) and whether `b64` is present.
struct query_params {
    std::optional<std::string> eio, transport, sid;
    bool b64 = false; // a v3 client asks for base64 binary
};

/// The query of an origin-form request target (`/engine.io/?EIO=4&transport=polling`). A target that is
/// not a valid origin form has no parameters. A target made of letters, digits, `-._~/=&` and one `?`
/// (what the official clients send) is split directly; any other goes through Boost.URL.
query_params parse_query(std::string_view target);

/// Always through Boost.URL (the reference the direct split is tested against).
query_params parse_query_by_url(std::string_view target);

} // namespace sio::engineio::detail
