// MessagePack encoding as notepack.io 3.0.1 writes it, on msgpuck's smallest-form writers plus notepack's
// number rule (see msgpack.hpp).
#include <sio/protocol/packet.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "msgpack.hpp"
#include <msgpuck.h>

namespace sio::msgpack_detail {
namespace {

namespace json = boost::json;

std::uint32_t length32(std::size_t n) {
    if (n > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("msgpack: a string, binary, array or map of 2^32 or more");
    return static_cast<std::uint32_t>(n);
}

void encode_uint(std::uint64_t n, std::string& out) {
    put(out, mp_sizeof_uint(n), [n](char* p) { mp_encode_uint(p, n); });
}

void encode_int(std::int64_t n, std::string& out) {
    if (n >= 0)
        return encode_uint(static_cast<std::uint64_t>(n), out);
    put(out, mp_sizeof_int(n), [n](char* p) { mp_encode_int(p, n); });
}

// notepack: a number equal to its floor is an integer (1.0 → 01, -0 → 00, 2^32 → cf…); NaN, ±Infinity and
// fractions are float64. Integral doubles outside [-2^63, 2^64) stay float64 here: notepack writes them
// modulo 2^64 (a corrupted value), which is not worth copying.
void encode_number(double d, std::string& out) {
    if (std::isfinite(d) && std::floor(d) == d) {
        if (d >= 0 && d < 18446744073709551616.0)
            return encode_uint(static_cast<std::uint64_t>(d), out);
        if (d < 0 && d >= -9223372036854775808.0)
            return encode_int(static_cast<std::int64_t>(d), out);
    }
    put(out, mp_sizeof_double(d), [d](char* p) { mp_encode_double(p, d); });
}

void encode_str(std::string_view s, std::string& out) {
    const auto n = length32(s.size());
    put(out, mp_sizeof_strl(n), [n](char* p) { mp_encode_strl(p, n); });
    out.append(s);
}

void encode_bin(std::string_view b, std::string& out) {
    const auto n = length32(b.size());
    put(out, mp_sizeof_binl(n), [n](char* p) { mp_encode_binl(p, n); });
    out.append(b);
}

void encode_value(const json::value& v, const std::vector<std::string>& attachments, std::string& out) {
    switch (v.kind()) {
    case json::kind::null:
        put(out, mp_sizeof_nil(), [](char* p) { mp_encode_nil(p); });
        return;
    case json::kind::bool_: {
        const bool b = v.get_bool();
        put(out, mp_sizeof_bool(b), [b](char* p) { mp_encode_bool(p, b); });
        return;
    }
    case json::kind::int64:
        return encode_int(v.get_int64(), out);
    case json::kind::uint64:
        return encode_uint(v.get_uint64(), out);
    case json::kind::double_:
        return encode_number(v.get_double(), out);
    case json::kind::string:
        return encode_str(v.get_string(), out);
    case json::kind::array: {
        const auto& a = v.get_array();
        const auto n = length32(a.size());
        put(out, mp_sizeof_array(n), [n](char* p) { mp_encode_array(p, n); });
        for (const auto& e : a)
            encode_value(e, attachments, out);
        return;
    }
    case json::kind::object: {
        std::size_t num = 0;
        if (protocol::is_placeholder(v, num) && num < attachments.size())
            return encode_bin(attachments[num], out);
        const auto& o = v.get_object();
        const auto n = length32(o.size());
        put(out, mp_sizeof_map(n), [n](char* p) { mp_encode_map(p, n); });
        for (const auto& kv : o) {
            encode_str(kv.key(), out);
            encode_value(kv.value(), attachments, out);
        }
        return;
    }
    }
}

} // namespace

void msgpack_encode(const boost::json::value& v, const std::vector<std::string>& attachments,
                    std::string& out) {
    encode_value(v, attachments, out);
}

} // namespace sio::msgpack_detail
