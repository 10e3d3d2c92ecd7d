// Private to the library: the one place where sio uses Beast's private (`detail::`) API.
//
// Beast keeps a SHA-1 and a base64 codec for its own use. sio uses them too, for speed: the
// Sec-WebSocket-Accept key of every WebSocket handshake (OpenSSL 3's one-shot SHA1() looks the algorithm up
// on every call, which costs more than hashing the 60 bytes), the base64 of binary packets over polling and
// of session ids. Boost has no public base64 or SHA-1 in the version sio builds against. Beast's private
// API may change with any Boost upgrade: when it does, this header is the only one to fix (the functions
// below are small enough to write here instead).
#pragma once

#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace sio::engineio::detail {

/// The length of the base64 text (padded, standard alphabet) of `n` bytes.
inline std::size_t base64_encoded_size(std::size_t n) noexcept {
    return boost::beast::detail::base64::encoded_size(n);
}

/// Writes the base64 text (padded, standard alphabet) of the `n` bytes at `in` to `out`, which holds at
/// least base64_encoded_size(n) characters; returns the number written.
inline std::size_t base64_encode(char* out, const void* in, std::size_t n) {
    return boost::beast::detail::base64::encode(out, in, n);
}

/// Decodes the base64 text `in` (`n` characters) into `out`, stopping at the first character outside the
/// alphabet (padding included); returns the bytes written and the characters read. `out` must hold
/// (n + 3) / 4 * 3 bytes: a final partial group writes its bytes too.
inline std::pair<std::size_t, std::size_t> base64_decode(void* out, const char* in, std::size_t n) {
    return boost::beast::detail::base64::decode(out, in, n);
}

/// Strict base64 (what base64_decode is given only after this check): the standard alphabet, '=' padding
/// only at the end (at most two), no impossible length.
inline bool valid_base64(std::string_view s) noexcept {
    auto alphabet = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
               c == '/';
    };
    std::size_t n = s.size();
    std::size_t pad = 0;
    while (pad < 2 && n > 0 && s[n - 1] == '=') {
        --n;
        ++pad;
    }
    if (n % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0))
        return false;
    for (std::size_t i = 0; i < n; ++i)
        if (!alphabet(s[i]))
            return false;
    return true;
}

/// Appends the Sec-WebSocket-Accept value (28 characters) answering the Sec-WebSocket-Key `key`: the base64
/// of the SHA-1 of the key and the RFC 6455 GUID.
inline void append_websocket_accept(std::string& out, std::string_view key) {
    boost::beast::websocket::detail::sec_ws_accept_type accept;
    boost::beast::websocket::detail::make_sec_ws_accept(accept, key);
    out.append(accept.data(), accept.size());
}

} // namespace sio::engineio::detail
