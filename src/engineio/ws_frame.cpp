#include "ws_frame.hpp"

#include <algorithm>
#include <cstring>

namespace sio::engineio::detail {

void append_frame(std::string& out, ws_opcode op, std::string_view prefix, std::string_view payload) {
    const std::size_t n = prefix.size() + payload.size();
    unsigned char h[10];
    std::size_t hn = 2;
    h[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(op));
    if (n < 126) {
        h[1] = static_cast<unsigned char>(n);
    } else if (n <= 0xFFFF) {
        h[1] = 126;
        h[2] = static_cast<unsigned char>(n >> 8);
        h[3] = static_cast<unsigned char>(n);
        hn = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; ++i)
            h[2 + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(n) >> (56 - 8 * i));
        hn = 10;
    }
    out.append(reinterpret_cast<const char*>(h), hn);
    out.append(prefix);
    out.append(payload);
}

void append_close_frame(std::string& out, std::uint16_t c) {
    const char body[2] = {static_cast<char>(c >> 8), static_cast<char>(c & 0xFF)};
    append_frame(out, ws_opcode::close, {}, std::string_view(body, 2));
}

void unmask(char* p, std::size_t n, std::uint32_t mask) noexcept {
    unsigned char key[8];
    std::memcpy(key, &mask, 4);
    std::memcpy(key + 4, &mask, 4);
    std::uint64_t k8;
    std::memcpy(&k8, key, 8);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t v;
        std::memcpy(&v, p + i, 8);
        v ^= k8;
        std::memcpy(p + i, &v, 8);
    }
    for (; i < n; ++i)
        p[i] = static_cast<char>(p[i] ^ static_cast<char>(key[i % 4]));
}

bool valid_peer_close_code(std::uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

std::uint8_t append_pong(std::string& out, std::string_view payload, std::size_t replaced) {
    out.resize(out.size() - replaced);
    const std::size_t before = out.size();
    append_frame(out, ws_opcode::pong, {}, payload);
    return static_cast<std::uint8_t>(out.size() - before);
}

close_answer answer_close(std::string_view payload) noexcept {
    constexpr auto protocol_error = static_cast<std::uint16_t>(ws_close_code::protocol_error);
    if (payload.empty())
        return {true, static_cast<std::uint16_t>(ws_close_code::normal)};
    if (payload.size() == 1)
        return {false, protocol_error};
    const auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                 static_cast<unsigned char>(payload[1]));
    if (!valid_peer_close_code(code))
        return {false, protocol_error};
    if (!valid_utf8(payload.substr(2)))
        return {false, static_cast<std::uint16_t>(ws_close_code::invalid_payload)};
    return {true, code};
}

bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        // ASCII runs, eight bytes at a time.
        while (end - p >= 8) {
            std::uint64_t v;
            std::memcpy(&v, p, 8);
            if (v & 0x8080808080808080ULL)
                break;
            p += 8;
        }
        if (p == end)
            break;
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t len;
        unsigned char lo = 0x80, hi = 0xBF; // the range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0; // overlong
            else if (c == 0xED)
                hi = 0x9F; // surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90; // overlong
            else if (c == 0xF4)
                hi = 0x8F; // above U+10FFFF
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) < len)
            return false;
        if (p[1] < lo || p[1] > hi)
            return false;
        for (std::size_t i = 2; i < len; ++i)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += len;
    }
    return true;
}

frame_parser::parse frame_parser::parse_header(const unsigned char* p, std::size_t n,
                                               header& h) const noexcept {
    h.header_size = 2;
    if (n < 2)
        return parse::need_more;
    if (p[0] & 0x70)
        return parse::error; // RSV bits: no extension was negotiated
    const unsigned op = p[0] & 0x0F;
    if (op != 0 && op != 1 && op != 2 && op != 8 && op != 9 && op != 10)
        return parse::error;
    h.fin = (p[0] & 0x80) != 0;
    h.op = static_cast<ws_opcode>(op);
    if (!(p[1] & 0x80))
        return parse::error; // client frames are masked
    const unsigned len7 = p[1] & 0x7F;
    const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    h.header_size = 2 + ext + 4;
    if (op >= 8 && (!h.fin || len7 > 125))
        return parse::error; // control frames are final and short
    if (n < h.header_size)
        return parse::need_more;
    std::uint64_t len = len7;
    if (ext) {
        len = 0;
        for (std::size_t i = 0; i < ext; ++i)
            len = (len << 8) | p[2 + i];
        if ((ext == 2 && len < 126) || (ext == 8 && len <= 0xFFFF))
            return parse::error; // not the shortest encoding
    }
    // A continuation counts with the fragments before it: the cap holds before anything is buffered.
    if (len > max_message_ || (op == 0 && len > max_message_ - message_size()))
        return parse::too_big;
    h.payload_size = len;
    std::memcpy(&h.mask, p + 2 + ext, 4);
    return parse::complete;
}

} // namespace sio::engineio::detail

namespace sio::engineio::detail {

void close_frame_fixer::scan(char* p, std::size_t n) noexcept {
    while (n > 0 && !done_) {
        if (skip_ > 0) {
            const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, n));
            skip_ -= k;
            p += k;
            n -= k;
            continue;
        }
        // A header: 2 bytes, the extended length, the masking key.
        const std::uint8_t had = have_;
        while (n > 0 && have_ < 2) {
            header_[have_++] = static_cast<unsigned char>(*p++);
            --n;
        }
        if (have_ < 2)
            return;
        const unsigned len7 = header_[1] & 0x7Fu;
        const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        const std::size_t size = 2 + ext + ((header_[1] & 0x80u) ? 4 : 0);
        while (n > 0 && have_ < size) {
            header_[have_++] = static_cast<unsigned char>(*p++);
            --n;
        }
        if (have_ < size)
            return;
        std::uint64_t length = len7;
        if (ext) {
            length = 0;
            for (std::size_t i = 0; i < ext; ++i)
                length = (length << 8) | header_[2 + i];
        }
        const auto op = static_cast<ws_opcode>(header_[0] & 0x0Fu);
        have_ = 0;
        if (op != ws_opcode::close) {
            skip_ = length;
            continue;
        }
        done_ = true; // nothing after a close frame matters
        // Rewritten only when the frame's header and payload are all in these bytes (Beast has seen none of
        // it), masked as clients must, with a code and a reason.
        if (had != 0 || !(header_[1] & 0x80u) || length < 2 || length > 125 || n < length)
            return;
        std::uint32_t mask;
        std::memcpy(&mask, header_ + size - 4, 4);
        char body[125];
        const auto len = static_cast<std::size_t>(length);
        std::memcpy(body, p, len);
        unmask(body, len, mask);
        const auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(body[0]) << 8) |
                                                     static_cast<unsigned char>(body[1]));
        std::uint16_t answer = 0;
        if (!valid_peer_close_code(code))
            answer = 1005; // a code Beast refuses too: it answers 1002, as the reference does for this one
        else if (!valid_utf8(std::string_view(body + 2, len - 2)))
            answer = 1007; // a valid code Beast echoes
        else
            return;
        body[0] = static_cast<char>(answer >> 8);
        body[1] = static_cast<char>(answer & 0xFF);
        std::memset(body + 2, ' ', len - 2);
        unmask(body, len, mask); // masking is its own inverse
        std::memcpy(p, body, len);
        fixed_ = true;
    }
}

} // namespace sio::engineio::detail
