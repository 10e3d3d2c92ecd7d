// Private to the library: MessagePack encoding and decoding as notepack.io 3.0.1 does it (the codec of
// Node's @socket.io/redis-adapter), between bytes and the library's value model: a JSON value in which
// binary data is a placeholder `{"_placeholder":true,"num":N}` referring to an attachment. No I/O.
// Files: msgpack_encode.cpp, msgpack_decode.cpp, and js_text.{hpp,cpp} (how JavaScript writes values as
// text, for the decoder).
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sio::msgpack_detail {

/// Caps applied while decoding (input from the network is hostile).
struct msgpack_limits {
    std::size_t max_depth = 32;        ///< nesting of arrays and maps (the [type, data] of an ext counts)
    std::size_t max_elements = 100000; ///< array elements + map entries, over the whole value (keys included)
};

/// Appends `size` bytes written by `write(char*)` (msgpuck's mp_encode_* functions) to `out`.
template <class Write>
void put(std::string& out, std::size_t size, Write write) {
    const std::size_t at = out.size();
    out.resize(at + size);
    write(out.data() + at);
}

/// Appends the encoding of `v` to `out`, as notepack.io encodes the same JS value. Integers (and integral
/// doubles in [-2^63, 2^64), -0 included) take their smallest form (fixint, cc-cf, d0-d3); other numbers
/// (fractions, NaN, ±Infinity, and integral doubles beyond 64 bits, which notepack would wrap) are float64
/// `cb`, never float32; strings are `str`, never `bin`; object keys keep their order. A placeholder object
/// (`protocol::is_placeholder`) whose `num` indexes `attachments` is encoded as `bin` with that attachment's
/// bytes (any other object is a map). Throws std::length_error for a string, binary, array or object of
/// 2^32 or more.
void msgpack_encode(const boost::json::value& v, const std::vector<std::string>& attachments,
                    std::string& out);

/// Decodes one value that must span `bytes` exactly, into what a Node server would re-emit after notepack
/// decoded it:
/// - every format, float32 included; ints are int64, except u64 above INT64_MAX (uint64: the integer type is
///   kept where JS would round); floats are doubles, except NaN and ±Infinity, which are null as
///   JSON.stringify writes them (-0 is 0); str is UTF-8 with invalid sequences replaced by U+FFFD;
/// - `bin` (and the legacy ArrayBuffer, ext type 0 in c7/c8/c9) becomes a placeholder, its bytes appended to
///   `attachments`; num is the index in `attachments` (uint64), numbered in JSON order;
/// - a timestamp (ext -1: d6, d7, c7 whatever its length byte says, like notepack; and the legacy `d7 00`
///   ms form) becomes its ISO 8601 text ("2023-11-14T22:13:20.123Z", as JSON.stringify writes a Date), or
///   null when out of the Date range; any other ext becomes `[type, <placeholder>]` (type signed);
/// - `d4 00 xx` (legacy undefined) is null, but a map entry with that value is left out, as JSON.stringify
///   leaves out undefined properties;
/// - map keys go through ToPropertyKey: non-string keys are written as JS would (1 → "1", 1.5 → "1.5",
///   true → "true", null → "null", [1,2] → "1,2", a map → "[object Object]"); a repeated key keeps its first
///   place and its last value; array-index keys come first in ascending order (JS property order); a
///   `__proto__` key is no property (it sets the prototype in Node).
/// Returns std::errc::bad_message, with `out` untouched and `attachments` as it was, for malformed or
/// truncated input, trailing bytes, input over the limits (and the few oddities that make Node throw, such
/// as a key that is a map with its own `toString`).
std::error_code msgpack_decode(std::string_view bytes, boost::json::value& out,
                               std::vector<std::string>& attachments, const msgpack_limits& limits = {});

} // namespace sio::msgpack_detail
