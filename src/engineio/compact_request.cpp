#include "compact_request.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string_view>

namespace sio::engineio::detail {

namespace {

// The packed form: a flags byte (1: secure), the field count, then method, target and remote address,
// then each field's name and value; every count an unsigned LEB128 number. A string is one LEB128 number
// `n`: odd, it is the common string number n / 2 (one byte instead of its text); even, n / 2 bytes of
// text follow.

/// Strings most handshakes carry, as clients send them (names are matched exactly: a header name keeps
/// the case it came with). 64 at most: a reference is one byte.
constexpr std::string_view common_strings[] = {
    // Names, as browsers and Beast send them, then as Node's clients do.
    "Host", "Connection", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions",
    "User-Agent", "Origin", "Accept", "Accept-Encoding", "Accept-Language", "Cache-Control", "Pragma",
    "Cookie", "Content-Type", "Content-Length", "X-Forwarded-For", "host", "connection", "upgrade",
    "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "user-agent", "origin",
    "accept", "accept-encoding", "accept-language", "cache-control", "pragma", "cookie", "content-type",
    "content-length", "x-forwarded-for",
    // Values and targets ("Upgrade" and "upgrade" are above).
    "GET", "POST", "websocket", "keep-alive", "Keep-Alive", "close", "13",
    "permessage-deflate; client_max_window_bits", "no-cache", "gzip, deflate, br", "gzip, deflate", "*/*",
    "/socket.io/?EIO=4&transport=websocket", "/socket.io/?EIO=4&transport=polling", "127.0.0.1", "::1",
    "text/plain;charset=UTF-8"};
static_assert(std::size(common_strings) <= 64);

/// For each length below 64, the common strings of that length (bit i: common_strings[i]): a lookup
/// compares only those (a handshake packs about ten strings).
constexpr auto common_by_length = [] {
    std::array<std::uint64_t, 64> masks{};
    for (std::size_t i = 0; i < std::size(common_strings); ++i)
        masks[common_strings[i].size()] |= std::uint64_t{1} << i;
    return masks;
}();

/// The number of `s` in common_strings, or -1.
int common_string(std::string_view s) noexcept {
    if (s.empty() || s.size() >= common_by_length.size())
        return -1;
    for (std::uint64_t m = common_by_length[s.size()]; m != 0; m &= m - 1) {
        const int i = std::countr_zero(m);
        if (common_strings[i][0] == s[0] && common_strings[i] == s)
            return i;
    }
    return -1;
}

std::size_t varint_size(std::size_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

char* put_varint(char* out, std::size_t v) noexcept {
    while (v >= 0x80) {
        *out++ = static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    *out++ = static_cast<char>(v);
    return out;
}

std::size_t string_size(std::string_view s) noexcept {
    if (common_string(s) >= 0)
        return 1;
    return varint_size(2 * s.size()) + s.size();
}

char* put_string(char* out, std::string_view s) noexcept {
    if (const int common = common_string(s); common >= 0)
        return put_varint(out, 2 * static_cast<std::size_t>(common) + 1);
    out = put_varint(out, 2 * s.size());
    if (!s.empty())
        std::memcpy(out, s.data(), s.size());
    return out + s.size();
}

std::size_t get_varint(const char*& in) noexcept {
    std::size_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        const auto b = static_cast<unsigned char>(*in++);
        v |= static_cast<std::size_t>(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
}

std::string_view get_string(const char*& in) noexcept {
    const std::size_t n = get_varint(in);
    if (n & 1)
        return common_strings[n / 2];
    const std::string_view s(in, n / 2);
    in += n / 2;
    return s;
}

} // namespace

std::size_t compact_request::packed_size(const request_info& r) noexcept {
    std::size_t size = 1 + varint_size(r.headers.size()) + string_size(r.method) + string_size(r.target) +
                       string_size(r.remote_address);
    for (auto [name, value] : r.headers.fields())
        size += string_size(name) + string_size(value);
    return size;
}

compact_request::compact_request(const request_info& r) {
    packed_ = std::make_unique_for_overwrite<char[]>(packed_size(r));
    char* out = packed_.get();
    *out++ = r.secure ? 1 : 0;
    out = put_varint(out, r.headers.size());
    out = put_string(out, r.method);
    out = put_string(out, r.target);
    out = put_string(out, r.remote_address);
    for (auto [name, value] : r.headers.fields()) {
        out = put_string(out, name);
        out = put_string(out, value);
    }
}

const request_info& compact_request::get() const {
    std::call_once(once_, [this] {
        auto full = std::make_unique<request_info>();
        const char* in = packed_.get();
        full->secure = *in++ != 0;
        const std::size_t fields = get_varint(in);
        full->method = get_string(in);
        full->target = get_string(in);
        full->remote_address = get_string(in);
        // Two passes: the header list is reserved once (one block of text, one of offsets).
        const char* const first_field = in;
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < 2 * fields; ++i)
            bytes += get_string(in).size();
        full->headers.reserve(fields, bytes);
        in = first_field;
        for (std::size_t i = 0; i < fields; ++i) {
            const auto name = get_string(in);
            full->headers.add(name, get_string(in));
        }
        full_ = std::move(full);
        packed_.reset();
    });
    return *full_;
}

} // namespace sio::engineio::detail
