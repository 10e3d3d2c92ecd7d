// The load generator's msgpack parser (`--parser msgpack`): converts between the JSON parser's text form of
// a Socket.IO packet (`2["echo","x",3]`, `3/nsp,7[...]`, without Engine.IO's leading `4`) and the map that
// socket.io-msgpack-parser 3.0 sends as one binary message (`{type, data, id, nsp}`). The scenarios keep
// building and checking text; only the wire changes. Covers what the scenarios send and receive: strings,
// integers, doubles, booleans, null, arrays and objects; binary data and extension types are refused (the
// contract's handlers do not use them). Every length is checked against the bytes left.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace loadgen_msgpack {

namespace detail {

inline void put_be(std::string& out, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i)
        out += static_cast<char>((v >> (8 * i)) & 0xff);
}

inline void put_uint(std::string& out, std::uint64_t v) {
    if (v < 0x80)
        out += static_cast<char>(v);
    else if (v <= 0xff)
        out += '\xcc', put_be(out, v, 1);
    else if (v <= 0xffff)
        out += '\xcd', put_be(out, v, 2);
    else if (v <= 0xffffffffULL)
        out += '\xce', put_be(out, v, 4);
    else
        out += '\xcf', put_be(out, v, 8);
}

inline void put_int(std::string& out, std::int64_t v) {
    if (v >= 0)
        return put_uint(out, static_cast<std::uint64_t>(v));
    if (v >= -32)
        out += static_cast<char>(v);
    else if (v >= -128)
        out += '\xd0', put_be(out, static_cast<std::uint64_t>(v), 1);
    else if (v >= -32768)
        out += '\xd1', put_be(out, static_cast<std::uint64_t>(v), 2);
    else if (v >= INT32_MIN)
        out += '\xd2', put_be(out, static_cast<std::uint64_t>(v), 4);
    else
        out += '\xd3', put_be(out, static_cast<std::uint64_t>(v), 8);
}

inline void put_str(std::string& out, std::string_view s) {
    if (s.size() < 32)
        out += static_cast<char>(0xa0 | s.size());
    else if (s.size() <= 0xff)
        out += '\xd9', put_be(out, s.size(), 1);
    else if (s.size() <= 0xffff)
        out += '\xda', put_be(out, s.size(), 2);
    else
        out += '\xdb', put_be(out, s.size(), 4);
    out += s;
}

inline void put_container(std::string& out, std::size_t n, bool map) {
    if (n < 16)
        out += static_cast<char>((map ? 0x80 : 0x90) | n);
    else if (n <= 0xffff)
        out += map ? '\xde' : '\xdc', put_be(out, n, 2);
    else
        out += map ? '\xdf' : '\xdd', put_be(out, n, 4);
}

/// JSON text to msgpack, for the subset above.
class json_reader {
public:
    explicit json_reader(std::string_view s) : s_(s) {}

    void value(std::string& out, int depth = 0) {
        if (depth > 32)
            fail("too deep");
        ws();
        if (i_ >= s_.size())
            fail("truncated");
        const char c = s_[i_];
        if (c == '"') {
            put_str(out, string());
        } else if (c == '[' || c == '{') {
            const bool map = c == '{';
            ++i_;
            // The count comes first in msgpack: encode the elements aside.
            std::string items;
            std::size_t n = 0;
            ws();
            if (peek() != (map ? '}' : ']')) {
                for (;;) {
                    if (map) {
                        ws();
                        if (peek() != '"')
                            fail("object key");
                        put_str(items, string());
                        ws();
                        expect(':');
                    }
                    value(items, depth + 1);
                    ++n;
                    ws();
                    if (peek() == ',') {
                        ++i_;
                        continue;
                    }
                    break;
                }
            }
            expect(map ? '}' : ']');
            put_container(out, n, map);
            out += items;
        } else if (s_.substr(i_, 4) == "true") {
            i_ += 4, out += '\xc3';
        } else if (s_.substr(i_, 5) == "false") {
            i_ += 5, out += '\xc2';
        } else if (s_.substr(i_, 4) == "null") {
            i_ += 4, out += '\xc0';
        } else {
            number(out);
        }
    }
    bool at_end() {
        ws();
        return i_ == s_.size();
    }

private:
    [[noreturn]] void fail(const char* what) const {
        throw std::runtime_error(std::string("msgpack encode: bad JSON (") + what + ")");
    }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
            ++i_;
    }
    void expect(char c) {
        if (peek() != c)
            fail("unexpected character");
        ++i_;
    }
    std::string string() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size())
                fail("truncated escape");
            c = s_[i_++];
            switch (c) {
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                if (i_ + 4 > s_.size())
                    fail("truncated \\u");
                const unsigned cp =
                    static_cast<unsigned>(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16));
                i_ += 4;
                if (cp < 0x80) {
                    out += static_cast<char>(cp);
                } else if (cp < 0x800) {
                    out += static_cast<char>(0xc0 | (cp >> 6));
                    out += static_cast<char>(0x80 | (cp & 0x3f));
                } else { // surrogates are not paired here: the scenarios send none
                    out += static_cast<char>(0xe0 | (cp >> 12));
                    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
                    out += static_cast<char>(0x80 | (cp & 0x3f));
                }
                break;
            }
            default:
                out += c; // \" \\ \/
            }
        }
        expect('"');
        return out;
    }
    void number(std::string& out) {
        const std::size_t start = i_;
        bool integral = true;
        if (peek() == '-')
            ++i_;
        while (i_ < s_.size() && std::strchr("0123456789.eE+-", s_[i_])) {
            if (!(s_[i_] >= '0' && s_[i_] <= '9'))
                integral = false;
            ++i_;
        }
        if (i_ == start)
            fail("unexpected character");
        const std::string text(s_.substr(start, i_ - start));
        if (integral) {
            put_int(out, std::stoll(text));
        } else {
            const double d = std::stod(text);
            std::uint64_t bits;
            std::memcpy(&bits, &d, sizeof bits);
            out += '\xcb';
            put_be(out, bits, 8);
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

/// msgpack to JSON text, for the subset above.
class msgpack_reader {
public:
    explicit msgpack_reader(std::string_view s) : s_(s) {}

    std::uint8_t byte() {
        need(1);
        return static_cast<std::uint8_t>(s_[i_++]);
    }
    std::uint64_t be(int bytes) {
        need(static_cast<std::size_t>(bytes));
        std::uint64_t v = 0;
        for (int k = 0; k < bytes; ++k)
            v = (v << 8) | static_cast<std::uint8_t>(s_[i_++]);
        return v;
    }
    std::string_view raw(std::uint64_t n) {
        need(n);
        auto v = s_.substr(i_, n);
        i_ += n;
        return v;
    }
    bool at_end() const { return i_ == s_.size(); }
    /// notepack's `undefined` (fixext 1, type 0, one zero byte), consumed if it is next.
    bool undefined() {
        if (s_.substr(i_, 3) != std::string_view("\xd4\x00\x00", 3))
            return false;
        i_ += 3;
        return true;
    }

    /// A string's length, or -1 when the next value is not a string (nothing is consumed then).
    long long str_len() {
        need(1);
        const auto t = static_cast<std::uint8_t>(s_[i_]);
        if ((t & 0xe0) == 0xa0)
            return ++i_, t & 0x1f;
        if (t == 0xd9 || t == 0xda || t == 0xdb)
            return ++i_, static_cast<long long>(be(t == 0xd9 ? 1 : t == 0xda ? 2 : 4));
        return -1;
    }
    /// An integer's value, if the next value is one (consumed either way).
    bool integer(long long& v) {
        const auto t = byte();
        if (t < 0x80)
            return v = t, true;
        if (t >= 0xe0)
            return v = static_cast<std::int8_t>(t), true;
        switch (t) {
        case 0xcc:
            return v = static_cast<long long>(be(1)), true;
        case 0xcd:
            return v = static_cast<long long>(be(2)), true;
        case 0xce:
            return v = static_cast<long long>(be(4)), true;
        case 0xcf:
            return v = static_cast<long long>(be(8)), true;
        case 0xd0:
            return v = static_cast<std::int8_t>(be(1)), true;
        case 0xd1:
            return v = static_cast<std::int16_t>(be(2)), true;
        case 0xd2:
            return v = static_cast<std::int32_t>(be(4)), true;
        case 0xd3:
            return v = static_cast<std::int64_t>(be(8)), true;
        case 0xcb: { // notepack writes every non-integer number as float64: an integral one is accepted
            std::uint64_t bits = be(8);
            double d;
            std::memcpy(&d, &bits, sizeof d);
            v = static_cast<long long>(d);
            return static_cast<double>(v) == d;
        }
        default:
            --i_;
            return false; // not an integer: left unread
        }
    }
    std::size_t container(std::uint8_t t, bool& map) {
        if ((t & 0xf0) == 0x80 || t == 0xde || t == 0xdf)
            map = true;
        else if ((t & 0xf0) == 0x90 || t == 0xdc || t == 0xdd)
            map = false;
        else
            return SIZE_MAX;
        std::uint64_t n = (t & 0xe0) == 0x80 ? (t & 0x0f) : be(t == 0xde || t == 0xdc ? 2 : 4);
        need(n); // each element takes at least one byte
        return static_cast<std::size_t>(n);
    }

    /// The next value as JSON (JSON.stringify's form for the subset).
    void json(std::string& out, int depth = 0) {
        if (depth > 32)
            fail("too deep");
        if (const auto n = str_len(); n >= 0)
            return quote(out, raw(static_cast<std::uint64_t>(n)));
        const auto t = byte();
        bool map = false;
        if (const auto n = container(t, map); n != SIZE_MAX) {
            out += map ? '{' : '[';
            bool first = true;
            for (std::size_t k = 0; k < n; ++k) {
                const auto mark = out.size();
                if (!first)
                    out += ',';
                if (map) {
                    const auto kl = str_len();
                    if (kl < 0)
                        fail("a map key that is not a string");
                    quote(out, raw(static_cast<std::uint64_t>(kl)));
                    out += ':';
                    if (undefined()) { // left out, as JSON.stringify does (Node's CONNECT `pid`)
                        out.resize(mark);
                        continue;
                    }
                }
                json(out, depth + 1);
                first = false;
            }
            out += map ? '}' : ']';
            return;
        }
        if (t == 0xd4) { // `undefined` in an array: null, as JSON.stringify writes it
            --i_;
            if (undefined())
                return (void)(out += "null");
            ++i_;
        }
        switch (t) {
        case 0xc0:
            out += "null";
            return;
        case 0xc2:
            out += "false";
            return;
        case 0xc3:
            out += "true";
            return;
        case 0xca: {
            std::uint32_t bits = static_cast<std::uint32_t>(be(4));
            float f;
            std::memcpy(&f, &bits, sizeof f);
            return number(out, f);
        }
        case 0xcb: {
            std::uint64_t bits = be(8);
            double d;
            std::memcpy(&d, &bits, sizeof d);
            return number(out, d);
        }
        default:
            break;
        }
        --i_;
        long long v = 0;
        if (integer(v))
            return (void)(out += std::to_string(v));
        fail("binary data or an extension type (not used by the scenarios)");
    }
    [[noreturn]] void fail(const char* what) const {
        throw std::runtime_error(std::string("msgpack decode: ") + what);
    }

private:
    void need(std::uint64_t n) const {
        if (n > s_.size() - i_)
            fail("truncated");
    }
    static void number(std::string& out, double d) {
        char buf[40];
        if (d == static_cast<double>(static_cast<long long>(d)) && d > -1e15 && d < 1e15)
            std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(d));
        else
            std::snprintf(buf, sizeof buf, "%.17g", d);
        out += buf;
    }
    static void quote(std::string& out, std::string_view s) {
        out += '"';
        for (const char c : s) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\')
                out += '\\', out += c;
            else if (c == '\n')
                out += "\\n";
            else if (c == '\r')
                out += "\\r";
            else if (c == '\t')
                out += "\\t";
            else if (c == '\b')
                out += "\\b";
            else if (c == '\f')
                out += "\\f";
            else if (u < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", u);
                out += buf;
            } else
                out += c;
        }
        out += '"';
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

} // namespace detail

/// `2/nsp,12["ev",1]` (a Socket.IO packet in the JSON parser's text form) to socket.io-msgpack-parser's
/// binary message `{type, nsp, id?, data?}`. Throws std::runtime_error on what it does not cover.
inline std::string text_to_msgpack(std::string_view text) {
    if (text.empty() || text[0] < '0' || text[0] > '4')
        throw std::runtime_error("msgpack encode: not a Socket.IO packet type: " +
                                 std::string(text.substr(0, 20)));
    const int type = text[0] - '0';
    std::size_t i = 1;
    std::string_view nsp = "/";
    if (i < text.size() && text[i] == '/') {
        const auto comma = text.find(',', i);
        nsp = text.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i);
        i = comma == std::string_view::npos ? text.size() : comma + 1;
    }
    const std::size_t id_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
        ++i;
    const auto id = text.substr(id_start, i - id_start);
    const auto data = text.substr(i);
    std::string out;
    detail::put_container(out, 2 + (id.empty() ? 0 : 1) + (data.empty() ? 0 : 1), true);
    detail::put_str(out, "type");
    detail::put_uint(out, static_cast<std::uint64_t>(type));
    if (!data.empty()) {
        detail::put_str(out, "data");
        detail::json_reader r(data);
        r.value(out);
        if (!r.at_end())
            throw std::runtime_error("msgpack encode: trailing text after the data");
    }
    if (!id.empty()) {
        detail::put_str(out, "id");
        detail::put_uint(out, std::stoull(std::string(id)));
    }
    detail::put_str(out, "nsp");
    detail::put_str(out, nsp);
    return out;
}

/// The inverse: a binary message of socket.io-msgpack-parser to the packet's text form, whatever the order
/// of the map's keys. Throws std::runtime_error on malformed or unexpected input.
inline std::string msgpack_to_text(std::string_view bin) {
    detail::msgpack_reader r(bin);
    bool map = false;
    const auto n = r.container(r.byte(), map);
    if (n == SIZE_MAX || !map)
        r.fail("the packet is not a map");
    long long type = -1, id = -1;
    std::string nsp = "/", data;
    for (std::size_t k = 0; k < n; ++k) {
        const auto kl = r.str_len();
        if (kl < 0)
            r.fail("a packet key that is not a string");
        const auto key = r.raw(static_cast<std::uint64_t>(kl));
        if (key == "type") {
            if (!r.integer(type) || type < 0 || type > 6)
                r.fail("bad type");
        } else if (key == "id") {
            if (!r.integer(id) || id < 0)
                r.fail("bad id");
        } else if (key == "nsp") {
            const auto sl = r.str_len();
            if (sl < 0)
                r.fail("nsp is not a string");
            nsp = std::string(r.raw(static_cast<std::uint64_t>(sl)));
        } else if (key == "data") {
            r.json(data);
        } else {
            std::string ignored; // other keys (Node's `options`, say) are skipped
            r.json(ignored);
        }
    }
    if (!r.at_end())
        r.fail("trailing bytes");
    if (type < 0)
        r.fail("no type");
    std::string text(1, static_cast<char>('0' + type));
    if (nsp != "/")
        text += nsp + ",";
    if (id >= 0)
        text += std::to_string(id);
    return text + data;
}

} // namespace loadgen_msgpack
