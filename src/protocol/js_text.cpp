// How JavaScript writes values as text, for the msgpack decoder: what a Node server ends up with once
// notepack decoded a message (strings, numbers and dates as JS prints them, and property keys).
#include "js_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

namespace sio::msgpack_detail {

/// Buffer#toString('utf8') (and notepack's str): the WHATWG UTF-8 decoder, in which every maximal invalid
/// subpart becomes U+FFFD. Valid input is returned unchanged.
bool is_ascii(std::string_view in) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= in.size(); i += 8) { // eight bytes at a time: any high bit is a non-ASCII byte
        std::uint64_t w;
        std::memcpy(&w, in.data() + i, 8);
        if (w & 0x8080808080808080ull)
            return false;
    }
    for (; i < in.size(); ++i)
        if (static_cast<unsigned char>(in[i]) >= 0x80)
            return false;
    return true;
}

std::string utf8_text(std::string_view in) {
    static constexpr std::string_view replacement = "\xef\xbf\xbd";
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (c < 0x80) { // a run of ASCII bytes is appended at once
            std::size_t j = i + 1;
            while (j < in.size() && static_cast<unsigned char>(in[j]) < 0x80)
                ++j;
            out.append(in.substr(i, j - i));
            i = j;
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

namespace {

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

} // namespace

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

} // namespace sio::msgpack_detail
