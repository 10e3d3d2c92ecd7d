// The Socket.IO protocol v4 differences (socket.io-client 2.x over Engine.IO v3). No I/O.
#include "protocol_v4.hpp"

#include <cmath>

namespace sio::detail::protocol_v4 {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// `+` → space, `%XX` → its byte; a `%` without two hex digits stays as written.
std::string form_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

/// UTF-8 decoding with replacement, as the WHATWG decoder does it: each maximal ill-formed subpart becomes
/// one U+FFFD; well-formed sequences are kept byte for byte.
std::string replace_bad_utf8(const std::string& s) {
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    std::string out;
    out.reserve(s.size());
    std::size_t need = 0, seen = 0, start = 0;
    unsigned lower = 0x80, upper = 0xBF;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (need == 0) {
            start = i;
            if (b <= 0x7F) {
                out.push_back(static_cast<char>(b));
            } else if (b >= 0xC2 && b <= 0xDF) {
                need = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                lower = b == 0xE0 ? 0xA0 : 0x80;
                upper = b == 0xED ? 0x9F : 0xBF;
                need = 2;
            } else if (b >= 0xF0 && b <= 0xF4) {
                lower = b == 0xF0 ? 0x90 : 0x80;
                upper = b == 0xF4 ? 0x8F : 0xBF;
                need = 3;
            } else {
                out += replacement;
            }
            continue;
        }
        if (b < lower || b > upper) {
            need = seen = 0;
            lower = 0x80;
            upper = 0xBF;
            out += replacement;
            --i; // this byte starts over
            continue;
        }
        lower = 0x80;
        upper = 0xBF;
        if (++seen == need) {
            out.append(s, start, i + 1 - start);
            need = seen = 0;
        }
    }
    if (need != 0)
        out += replacement;
    return out;
}

} // namespace

split_namespace split(std::string_view nsp) {
    const std::size_t hash = nsp.find('#');
    if (hash != std::string_view::npos)
        nsp = nsp.substr(0, hash);
    const std::size_t question = nsp.find('?');
    if (question == std::string_view::npos)
        return {std::string(nsp), {}};
    return {std::string(nsp.substr(0, question)), nsp.substr(question + 1)};
}

std::optional<boost::json::object> query_auth(std::string_view query) {
    boost::json::object auth;
    std::size_t parameters = 0;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty())
            continue;
        if (++parameters > max_query_parameters)
            return std::nullopt;
        const std::size_t eq = pair.find('=');
        const std::string name = replace_bad_utf8(form_decode(pair.substr(0, eq)));
        const std::string value =
            eq == std::string_view::npos ? std::string() : replace_bad_utf8(form_decode(pair.substr(eq + 1)));
        auth[name] = value;
    }
    return auth;
}

std::string socket_id(std::string_view nsp, std::string_view session_id) {
    if (nsp == "/")
        return std::string(session_id);
    std::string id;
    id.reserve(nsp.size() + 1 + session_id.size());
    id += nsp;
    id += '#';
    id += session_id;
    return id;
}

boost::json::value connect_error_data(std::string_view message, const boost::json::value& data) {
    bool truthy = true;
    switch (data.kind()) {
    case boost::json::kind::null:
        truthy = false;
        break;
    case boost::json::kind::bool_:
        truthy = data.get_bool();
        break;
    case boost::json::kind::int64:
        truthy = data.get_int64() != 0;
        break;
    case boost::json::kind::uint64:
        truthy = data.get_uint64() != 0;
        break;
    case boost::json::kind::double_:
        truthy = data.get_double() != 0 && !std::isnan(data.get_double());
        break;
    case boost::json::kind::string:
        truthy = !data.get_string().empty();
        break;
    default:
        break;
    }
    if (truthy)
        return data;
    return boost::json::string(message);
}

} // namespace sio::detail::protocol_v4
