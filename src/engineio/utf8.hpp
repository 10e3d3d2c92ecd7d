// Private to the library: the UTF-8 check of everything that must be text (WebSocket text messages and
// close reasons, polling payloads). No I/O.
#pragma once

#include <string_view>

namespace sio::engineio::detail {

/// True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) noexcept;

} // namespace sio::engineio::detail
