// MessagePack as notepack.io 3.0.1 writes and reads it (research/cluster-protocol.md §5), on msgpuck's
// primitives. The encoder is msgpuck's smallest-form writers plus notepack's number rule. The decoder reads
// each header itself (every length is checked against the input left before msgpuck loads a byte) and then
// builds what Node ends up with: the JS value notepack makes, as socket.io would serialise it again (Buffer →
// attachment, Date → ISO text, undefined properties dropped, JS property order and property keys).
#include "msgpack.hpp"

#include <sio/protocol/packet.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <utility>

#include <msgpuck.h>

namespace sio::redis_detail {
namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------- encoding

/// Appends `size` bytes written by `write(char*)`.
template <class Write>
void put(std::string& out, std::size_t size, Write write) {
    const std::size_t at = out.size();
    out.resize(at + size);
    write(out.data() + at);
}

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

// ------------------------------------------------------------------------------------- JS text forms

/// Buffer#toString('utf8') (and notepack's str): the WHATWG UTF-8 decoder, in which every maximal invalid
/// subpart becomes U+FFFD. Valid input is returned unchanged.
std::string utf8_text(std::string_view in) {
    static constexpr std::string_view replacement = "\xef\xbf\xbd";
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        std::size_t need = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;
        } else {
            out += replacement;
            ++i;
            continue;
        }
        std::size_t j = 1;
        for (; j <= need && i + j < in.size(); ++j) {
            const auto b = static_cast<unsigned char>(in[i + j]);
            if (b < lo || b > hi)
                break;
            lo = 0x80;
            hi = 0xbf;
        }
        if (j > need) {
            out.append(in.substr(i, need + 1));
        } else {
            out += replacement; // the lead and the good continuations; the offending byte is read again
        }
        i += j;
    }
    return out;
}

/// Number::toString(x) (ECMA-262 §6.1.6.1.20): the shortest digits that round-trip, in JS layout.
std::string js_number(double x) {
    if (std::isnan(x))
        return "NaN";
    if (x == 0)
        return "0";
    if (std::isinf(x))
        return x > 0 ? "Infinity" : "-Infinity";
    std::string out;
    if (x < 0) {
        out += '-';
        x = -x;
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf)); // d[.ddd]e±XX
    const auto e = sci.find('e');
    std::string digits(1, sci[0]);
    if (e > 1)
        digits.append(sci.substr(2, e - 2));
    int exp10 = 0;
    std::from_chars(sci.data() + e + 2, sci.data() + sci.size(), exp10);
    if (sci[e + 1] == '-')
        exp10 = -exp10;
    const int k = static_cast<int>(digits.size());
    const int n = exp10 + 1; // x = 0.digits × 10^n
    if (k <= n && n <= 21) {
        out += digits;
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out.append(digits, 0, static_cast<std::size_t>(n));
        out += '.';
        out.append(digits, static_cast<std::size_t>(n));
    } else if (-6 < n && n <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-n), '0');
        out += digits;
    } else {
        out += digits[0];
        if (k > 1) {
            out += '.';
            out.append(digits, 1);
        }
        out += n - 1 < 0 ? "e-" : "e+";
        out += std::to_string(std::abs(n - 1));
    }
    return out;
}

/// TimeClip (ECMA-262 §21.4.1.31): NaN for an invalid Date, else the integral time value in ms.
double time_clip(double t) {
    if (!std::isfinite(t) || std::fabs(t) > 8.64e15)
        return std::numeric_limits<double>::quiet_NaN();
    return std::trunc(t) + 0.0;
}

struct civil_time {
    std::int64_t year;
    unsigned month, day, hour, minute, second, millisecond, weekday; // month 1-12, weekday 0 = Sunday
};

/// The UTC calendar fields of a valid time value (proleptic Gregorian, as ECMAScript counts).
civil_time split_time(double t) {
    constexpr std::int64_t ms_per_day = 86400000;
    const auto ms = static_cast<std::int64_t>(t);
    std::int64_t days = ms / ms_per_day;
    std::int64_t in_day = ms % ms_per_day;
    if (in_day < 0) {
        in_day += ms_per_day;
        --days;
    }
    civil_time c{};
    c.weekday = static_cast<unsigned>(((days + 4) % 7 + 7) % 7); // 1970-01-01 was a Thursday
    // Days to a date, counting in 400-year eras of 146097 days that start on 0000-03-01.
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;                                      // [0, 146096]
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
    const std::int64_t mp = (5 * doy + 2) / 153;                      // [0, 11], March = 0
    c.day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
    c.month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
    c.hour = static_cast<unsigned>(in_day / 3600000);
    c.minute = static_cast<unsigned>(in_day / 60000 % 60);
    c.second = static_cast<unsigned>(in_day / 1000 % 60);
    c.millisecond = static_cast<unsigned>(in_day % 1000);
    return c;
}

/// Date.prototype.toISOString: "2023-11-14T22:13:20.123Z"; years outside 0-9999 as ±YYYYYY.
std::string iso_string(double t) {
    const civil_time c = split_time(t);
    char buf[64];
    int n = 0;
    if (c.year >= 0 && c.year <= 9999)
        n = std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(c.year));
    else
        n = std::snprintf(buf, sizeof buf, "%c%06lld", c.year < 0 ? '-' : '+',
                          static_cast<long long>(c.year < 0 ? -c.year : c.year));
    std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "-%02u-%02uT%02u:%02u:%02u.%03uZ",
                  c.month, c.day, c.hour, c.minute, c.second, c.millisecond);
    return buf;
}

/// Date.prototype.toString, as a Node process whose time zone is UTC writes it (a Date used as a map key).
std::string date_string(double t) {
    if (std::isnan(t))
        return "Invalid Date";
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const civil_time c = split_time(t);
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s %s %02u %s%04lld %02u:%02u:%02u GMT+0000 (Coordinated Universal Time)",
                  days[c.weekday], months[c.month - 1], c.day, c.year < 0 ? "-" : "",
                  static_cast<long long>(c.year < 0 ? -c.year : c.year), c.hour, c.minute, c.second);
    return buf;
}

/// An array index (ECMA-262 §6.1.7): the canonical decimal form of an integer in [0, 2^32 - 2]. Ordinary
/// objects list these keys first, in ascending order.
bool array_index(std::string_view key, std::uint32_t& index) {
    if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0'))
        return false;
    std::uint64_t v = 0;
    for (char c : key) {
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > 4294967294u)
        return false;
    index = static_cast<std::uint32_t>(v);
    return true;
}

// ---------------------------------------------------------------------------------------------- decoding

struct malformed {};

[[noreturn]] void fail() {
    throw malformed{};
}

/// What one msgpack item is, in notepack's terms.
enum class tag {
    nil,
    undefined, // d4 00 xx
    boolean,
    integer,  // every int form that fits int64
    uinteger, // cf above INT64_MAX
    number,   // ca, cb
    str,
    bin,          // Buffer
    array_buffer, // ext type 0 in c7/c8/c9 (legacy ArrayBuffer)
    date,         // ext -1 (d6, d7, c7) and legacy d7 00; `number` holds the time value, NaN if invalid
    ext,          // any other ext: [type, Buffer]
    array,
    map,
};

struct item {
    tag kind = tag::nil;
    bool boolean = false;
    std::int64_t integer = 0;
    std::uint64_t uinteger = 0;
    double number = 0;
    std::int8_t ext_type = 0;
    std::string_view bytes; // str, bin, array_buffer, ext
    std::size_t size = 0;   // array elements, map entries
};

class decoder {
public:
    decoder(std::string_view in, std::vector<std::string>& attachments, const msgpack_limits& limits)
        : p_(in.data()), end_(in.data() + in.size()), attachments_(attachments), base_(attachments.size()),
          limits_(limits) {}

    json::value run() {
        bool undefined = false;
        json::value v = build(next(), 0, undefined);
        if (p_ != end_)
            fail(); // trailing bytes
        if (renumber_) {
            std::vector<std::string> ordered;
            renumber(v, ordered);
            attachments_.resize(base_);
            std::move(ordered.begin(), ordered.end(), std::back_inserter(attachments_));
        }
        return v;
    }

private:
    // ---- input

    std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - p_); }
    void need(std::size_t n) const {
        if (left() < n)
            fail();
    }
    std::uint8_t u8() {
        need(1);
        return mp_load_u8(&p_);
    }
    std::uint16_t u16() {
        need(2);
        return mp_load_u16(&p_);
    }
    std::uint32_t u32() {
        need(4);
        return mp_load_u32(&p_);
    }
    std::uint64_t u64() {
        need(8);
        return mp_load_u64(&p_);
    }
    std::int8_t i8() { return static_cast<std::int8_t>(u8()); }
    std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
    std::string_view take(std::size_t n) {
        need(n);
        std::string_view s(p_, n);
        p_ += n;
        return s;
    }

    // ---- one item header (and the payload of scalars)

    static item make(tag k) {
        item it;
        it.kind = k;
        return it;
    }
    static item integer(std::int64_t v) {
        item it = make(tag::integer);
        it.integer = v;
        return it;
    }
    static item number(double v) {
        item it = make(tag::number);
        it.number = v;
        return it;
    }
    static item date(double t) {
        item it = make(tag::date);
        it.number = time_clip(t);
        return it;
    }
    item bytes(tag k, std::size_t n) {
        item it = make(k);
        it.bytes = take(n);
        return it;
    }
    item container(tag k, std::size_t n) {
        // Every element takes at least one byte, every entry two: a count the input cannot hold is refused
        // before anything is allocated for it.
        if (n > (k == tag::map ? left() / 2 : left()))
            fail();
        item it = make(k);
        it.size = n;
        return it;
    }
    item ext(std::int8_t type, std::size_t n) {
        item it = bytes(tag::ext, n);
        it.ext_type = type;
        return it;
    }
    /// c7/c8/c9: type 0 is the legacy ArrayBuffer, -1 in c7 a 96-bit timestamp (12 bytes read whatever the
    /// length says, like notepack).
    item ext_variable(std::size_t n, bool ext8) {
        const std::int8_t type = i8();
        if (type == 0)
            return bytes(tag::array_buffer, n);
        if (type == -1 && ext8) {
            need(12);
            const double ns = u32();
            const double hi = i32();
            const double lo = u32();
            // notepack's double arithmetic, rounding included (ns is not checked against 10^9 either).
            return date((hi * 4294967296.0 + lo) * 1e3 + ns / 1e6);
        }
        return ext(type, n);
    }
    item ext_fixed(std::size_t n) {
        const std::int8_t type = i8();
        if (n == 1 && type == 0) { // legacy undefined; its data byte is skipped
            take(1);
            return make(tag::undefined);
        }
        if (n == 4 && type == -1) // timestamp 32
            return date(u32() * 1e3);
        if (n == 8 && type == 0) { // legacy Date: int64 milliseconds
            need(8);
            const double hi = i32() * 4294967296.0;
            const double lo = u32();
            return date(hi + lo);
        }
        if (n == 8 && type == -1) { // timestamp 64: 30-bit nanoseconds, 34-bit seconds
            need(8);
            const std::uint32_t hi = u32();
            const std::uint32_t lo = u32();
            const double seconds = (hi & 0x3) * 4294967296.0 + lo;
            return date(seconds * 1e3 + (hi >> 2) / 1e6);
        }
        return ext(type, n);
    }

    item next() {
        const std::uint8_t c = u8();
        if (c <= 0x7f)
            return integer(c);
        if (c <= 0x8f)
            return container(tag::map, c & 0x0f);
        if (c <= 0x9f)
            return container(tag::array, c & 0x0f);
        if (c <= 0xbf)
            return bytes(tag::str, c & 0x1f);
        if (c >= 0xe0)
            return integer(static_cast<std::int8_t>(c));
        switch (c) {
        case 0xc0:
            return make(tag::nil);
        case 0xc2:
        case 0xc3: {
            item it = make(tag::boolean);
            it.boolean = c == 0xc3;
            return it;
        }
        case 0xc4:
            return bytes(tag::bin, u8());
        case 0xc5:
            return bytes(tag::bin, u16());
        case 0xc6:
            return bytes(tag::bin, u32());
        case 0xc7:
            return ext_variable(u8(), true);
        case 0xc8:
            return ext_variable(u16(), false);
        case 0xc9:
            return ext_variable(u32(), false);
        case 0xca:
            need(4);
            return number(mp_load_float(&p_));
        case 0xcb:
            need(8);
            return number(mp_load_double(&p_));
        case 0xcc:
            return integer(u8());
        case 0xcd:
            return integer(u16());
        case 0xce:
            return integer(u32());
        case 0xcf: {
            const std::uint64_t v = u64();
            if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return integer(static_cast<std::int64_t>(v));
            item it = make(tag::uinteger);
            it.uinteger = v;
            return it;
        }
        case 0xd0:
            return integer(i8());
        case 0xd1:
            return integer(static_cast<std::int16_t>(u16()));
        case 0xd2:
            return integer(i32());
        case 0xd3:
            return integer(static_cast<std::int64_t>(u64()));
        case 0xd4:
            return ext_fixed(1);
        case 0xd5:
            return ext_fixed(2);
        case 0xd6:
            return ext_fixed(4);
        case 0xd7:
            return ext_fixed(8);
        case 0xd8:
            return ext_fixed(16);
        case 0xd9:
            return bytes(tag::str, u8());
        case 0xda:
            return bytes(tag::str, u16());
        case 0xdb:
            return bytes(tag::str, u32());
        case 0xdc:
            return container(tag::array, u16());
        case 0xdd:
            return container(tag::array, u32());
        case 0xde:
            return container(tag::map, u16());
        case 0xdf:
            return container(tag::map, u32());
        default:
            fail(); // 0xc1, never used
        }
    }

    // ---- limits

    /// A container (array, map, or the [type, Buffer] of an ext) at nesting `depth` (0 = top level).
    void enter(std::size_t depth, std::size_t elements) {
        if (depth >= limits_.max_depth)
            fail();
        if (elements > limits_.max_elements - elements_)
            fail();
        elements_ += elements;
    }

    // ---- values

    json::value placeholder(std::string_view bytes) {
        const std::uint64_t num = attachments_.size();
        attachments_.emplace_back(bytes);
        // `num` is uint64 (as make_placeholder writes it): decoded ints below 2^63 are int64, so a map that
        // merely looks like a placeholder is never taken for one of ours by renumber().
        return json::object{{"_placeholder", true}, {"num", num}};
    }

    json::value build(const item& it, std::size_t depth, bool& undefined) {
        switch (it.kind) {
        case tag::nil:
            return nullptr;
        case tag::undefined:
            undefined = true;
            return nullptr;
        case tag::boolean:
            return it.boolean;
        case tag::integer:
            return it.integer;
        case tag::uinteger:
            return it.uinteger;
        case tag::number:
            // JSON.stringify writes NaN and ±Infinity as null (a JSON value cannot hold them), -0 as 0.
            if (!std::isfinite(it.number))
                return nullptr;
            return it.number + 0.0;
        case tag::str:
            return json::string(utf8_text(it.bytes));
        case tag::bin:
        case tag::array_buffer:
            return placeholder(it.bytes);
        case tag::date:
            if (std::isnan(it.number))
                return nullptr; // JSON.stringify(new Date(NaN))
            return json::string(iso_string(it.number));
        case tag::ext: {
            enter(depth, 2);
            json::array a;
            a.reserve(2);
            a.emplace_back(static_cast<std::int64_t>(it.ext_type));
            a.push_back(placeholder(it.bytes));
            return a;
        }
        case tag::array: {
            enter(depth, it.size);
            json::array a;
            a.reserve(it.size);
            for (std::size_t i = 0; i < it.size; ++i) {
                bool u = false; // undefined in an array is written null
                a.push_back(build(next(), depth + 1, u));
            }
            return a;
        }
        case tag::map: {
            bool setter = true;
            return build_map(it.size, depth, setter);
        }
        }
        fail();
    }

    /// notepack's `value[key] = parse()` on `{}`: keys through ToPropertyKey, the last value of a repeated
    /// key in the place of the first, `__proto__` through Object.prototype's setter (no property), then
    /// listed as JSON.stringify lists them (array indices first, undefined values left out). `setter` says
    /// whether `__proto__` still reaches that setter from this object (false once its prototype is null).
    json::object build_map(std::size_t n, std::size_t depth, bool& setter) {
        enter(depth, n);
        json::object obj;
        obj.reserve(n);
        std::vector<char> undefined; // by position in `obj`; shorter than `obj` when the rest are defined
        bool any_undefined = false, any_index = false;
        for (std::size_t i = 0; i < n; ++i) {
            std::string key = key_string(next(), depth + 1);
            const item vi = next();
            if (setter && key == "__proto__") {
                const std::size_t mark = attachments_.size();
                switch (vi.kind) {
                case tag::date:
                case tag::bin:
                case tag::array_buffer:
                    // An object inheriting Date's or Buffer's toJSON, or passing `instanceof ArrayBuffer`,
                    // makes Node throw when it re-emits it: refused.
                    fail();
                case tag::nil:
                    setter = false;
                    break;
                case tag::map: {
                    bool inner = true;
                    build_map(vi.size, depth + 1, inner);
                    setter = inner;
                    break;
                }
                default: { // a primitive is ignored; an array makes an invisible prototype
                    bool u = false;
                    build(vi, depth + 1, u);
                }
                }
                attachments_.resize(mark);
                continue;
            }
            bool u = false;
            json::value v = build(vi, depth + 1, u);
            std::size_t pos = 0;
            if (auto found = obj.find(key); found != obj.end()) {
                found->value() = std::move(v);
                pos = static_cast<std::size_t>(found - obj.begin());
                if (attachments_.size() > base_)
                    renumber_ = true; // the replaced value may have held attachments
            } else {
                std::uint32_t index = 0;
                any_index = any_index || array_index(key, index);
                pos = obj.size();
                obj.emplace(key, std::move(v));
            }
            if (u || pos < undefined.size()) {
                if (undefined.size() <= pos)
                    undefined.resize(pos + 1, 0);
                undefined[pos] = u;
                any_undefined = any_undefined || u;
            }
        }
        if (!any_undefined && !any_index)
            return obj;

        // Array indices first in ascending order, then the other keys in creation order.
        auto is_undefined = [&](std::size_t pos) { return pos < undefined.size() && undefined[pos]; };
        std::vector<std::pair<std::uint32_t, std::size_t>> indices;
        for (std::size_t pos = 0; pos < obj.size(); ++pos) {
            std::uint32_t index = 0;
            if (!is_undefined(pos) && array_index((obj.begin() + pos)->key(), index))
                indices.emplace_back(index, pos);
        }
        std::sort(indices.begin(), indices.end());
        std::vector<char> placed(obj.size(), 0);
        json::object out;
        out.reserve(obj.size());
        bool moved = false;
        for (const auto& [index, pos] : indices) {
            auto& kv = *(obj.begin() + pos);
            moved = moved || out.size() != pos;
            out.emplace(kv.key(), std::move(kv.value()));
            placed[pos] = 1;
        }
        for (std::size_t pos = 0; pos < obj.size(); ++pos) {
            if (placed[pos] || is_undefined(pos))
                continue;
            auto& kv = *(obj.begin() + pos);
            out.emplace(kv.key(), std::move(kv.value()));
        }
        if (moved && attachments_.size() > base_)
            renumber_ = true; // socket.io numbers attachments in property order
        return out;
    }

    // ---- property keys (never in the result: a Buffer in a key is text, not an attachment)

    /// ToPropertyKey of a decoded key.
    std::string key_string(const item& it, std::size_t depth) {
        if (it.kind == tag::str)
            return utf8_text(it.bytes);
        return js_string(it, depth);
    }

    /// ToString of what notepack decodes. Plain objects are "[object Object]"; one that has its own
    /// `toString`, or a prototype that is not a primitive-ignored value, makes JS throw (or depends on the
    /// prototype chain): refused.
    std::string js_string(const item& it, std::size_t depth) {
        switch (it.kind) {
        case tag::nil:
            return "null";
        case tag::undefined:
            return "undefined";
        case tag::boolean:
            return it.boolean ? "true" : "false";
        case tag::integer: // a JS number: int64 rounds to double as notepack's hi * 2^32 + lo does
            return js_number(static_cast<double>(it.integer));
        case tag::uinteger:
            return js_number(static_cast<double>(it.uinteger));
        case tag::number:
            return js_number(it.number);
        case tag::str:
        case tag::bin:
            return utf8_text(it.bytes);
        case tag::array_buffer:
            return "[object ArrayBuffer]";
        case tag::date:
            return date_string(it.number);
        case tag::ext:
            enter(depth, 2);
            return std::to_string(it.ext_type) + "," + utf8_text(it.bytes);
        case tag::array: { // Array.prototype.join(","): null and undefined are empty
            enter(depth, it.size);
            std::string s;
            for (std::size_t i = 0; i < it.size; ++i) {
                if (i > 0)
                    s += ',';
                const item e = next();
                if (e.kind != tag::nil && e.kind != tag::undefined)
                    s += js_string(e, depth + 1);
            }
            return s;
        }
        case tag::map: {
            enter(depth, it.size);
            for (std::size_t i = 0; i < it.size; ++i) {
                const std::string key = key_string(next(), depth + 1);
                const item v = next();
                if (key == "toString")
                    fail(); // not callable: String() throws a TypeError
                if (key == "__proto__" && v.kind != tag::boolean && v.kind != tag::integer &&
                    v.kind != tag::uinteger && v.kind != tag::number && v.kind != tag::str &&
                    v.kind != tag::undefined)
                    fail();
                skip(v, depth + 1);
            }
            return "[object Object]";
        }
        }
        fail();
    }

    /// Reads and checks a value nobody sees (the values of a map used as a key). Its keys still go through
    /// ToPropertyKey, which can fail.
    void skip(const item& it, std::size_t depth) {
        switch (it.kind) {
        case tag::ext:
            enter(depth, 2);
            return;
        case tag::array:
            enter(depth, it.size);
            for (std::size_t i = 0; i < it.size; ++i)
                skip(next(), depth + 1);
            return;
        case tag::map:
            enter(depth, it.size);
            for (std::size_t i = 0; i < it.size; ++i) {
                key_string(next(), depth + 1);
                skip(next(), depth + 1);
            }
            return;
        default:
            return;
        }
    }

    // ---- attachments in the order socket.io would number them

    bool ours(const json::object& o) const {
        if (o.size() != 2)
            return false;
        const auto* flag = o.if_contains("_placeholder");
        const auto* num = o.if_contains("num");
        return flag && *flag == true && num && num->is_uint64() && num->get_uint64() >= base_ &&
               num->get_uint64() < attachments_.size();
    }

    void renumber(json::value& v, std::vector<std::string>& ordered) {
        if (auto* a = v.if_array()) {
            for (auto& e : *a)
                renumber(e, ordered);
        } else if (auto* o = v.if_object()) {
            if (ours(*o)) {
                auto& num = o->at("num");
                auto& bytes = attachments_[static_cast<std::size_t>(num.get_uint64())];
                num = static_cast<std::uint64_t>(base_ + ordered.size());
                ordered.push_back(std::move(bytes));
                return;
            }
            for (auto& kv : *o)
                renumber(kv.value(), ordered);
        }
    }

    const char* p_;
    const char* end_;
    std::vector<std::string>& attachments_;
    const std::size_t base_;
    const msgpack_limits& limits_;
    std::size_t elements_ = 0;
    bool renumber_ = false;
};

} // namespace

void msgpack_encode(const boost::json::value& v, const std::vector<std::string>& attachments,
                    std::string& out) {
    encode_value(v, attachments, out);
}

std::error_code msgpack_decode(std::string_view bytes, boost::json::value& out,
                               std::vector<std::string>& attachments, const msgpack_limits& limits) {
    const std::size_t base = attachments.size();
    try {
        decoder d(bytes, attachments, limits);
        out = d.run();
        return {};
    } catch (const malformed&) {
        attachments.resize(base);
        return std::make_error_code(std::errc::bad_message);
    }
}

} // namespace sio::redis_detail
