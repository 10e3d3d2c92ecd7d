// Private to the library: how JavaScript writes values as text. The msgpack decoder uses these to give
// what a Node server ends up with after notepack decoded a message (msgpack.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sio::msgpack_detail {

/// Buffer#toString('utf8'): every maximal invalid UTF-8 subpart becomes U+FFFD; valid input is unchanged.
std::string utf8_text(std::string_view in);

/// True when every byte of `in` is ASCII (then utf8_text(in) == in).
bool is_ascii(std::string_view in) noexcept;

/// Number::toString(x): the shortest digits that round-trip, in JS layout ("1e+21", "0.000001", "NaN").
std::string js_number(double x);

/// TimeClip: NaN for an invalid Date, else the integral time value in ms.
double time_clip(double t);

/// Date.prototype.toISOString of a valid time value: "2023-11-14T22:13:20.123Z"; years outside 0-9999
/// as ±YYYYYY.
std::string iso_string(double t);

/// Date.prototype.toString in the UTC time zone ("Invalid Date" for NaN).
std::string date_string(double t);

/// True, with `index`, when `key` is an array index (the canonical decimal form of an integer in
/// [0, 2^32 - 2]); ordinary objects list these keys first, in ascending order.
bool array_index(std::string_view key, std::uint32_t& index);

} // namespace sio::msgpack_detail
