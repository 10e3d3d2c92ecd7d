// Engine.IO v3 packets and payloads (packet_v3.hpp).
#include <sio/engineio/packet_v3.hpp>
#include <sio/error.hpp>

#include "beast_detail.hpp"
#include "utf8.hpp"

namespace sio::engineio::v3 {
namespace {

bool is_type_digit(char c) noexcept {
    return c >= '0' && c <= '6';
}

void append_base64(std::string& out, std::string_view data) {
    const std::size_t at = out.size();
    out.resize(at + detail::base64_encoded_size(data.size()));
    const std::size_t n = detail::base64_encode(out.data() + at, data.data(), data.size());
    out.resize(at + n);
}

// The number of bytes of the UTF-8 sequence led by `lead` and its UTF-16 length (the text is valid).
std::pair<std::size_t, std::size_t> sequence_of(unsigned char lead) noexcept {
    if (lead < 0x80)
        return {1, 1};
    if (lead < 0xE0)
        return {2, 1};
    if (lead < 0xF0)
        return {3, 1};
    return {4, 2};
}

std::size_t text_size(packet_type, bool binary, std::string_view data) noexcept {
    return binary ? 2 + detail::base64_encoded_size(data.size()) : 1 + data.size();
}

void append_decimal(std::string& out, std::size_t n) {
    char digits[24];
    std::size_t k = 0;
    do {
        digits[k++] = static_cast<char>('0' + n % 10);
        n /= 10;
    } while (n != 0);
    while (k > 0)
        out.push_back(digits[--k]);
}

} // namespace

std::size_t utf16_length(std::string_view utf8) noexcept {
    std::size_t units = 0;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto [bytes, n] = sequence_of(static_cast<unsigned char>(utf8[i]));
        i += bytes;
        units += n;
    }
    return units;
}

std::error_code decode_packet(std::string_view text, packet& out) {
    if (text.empty())
        return error::parse_error;
    if (text[0] == 'b') {
        if (text.size() < 2 || !is_type_digit(text[1]))
            return error::parse_error;
        const std::string_view encoded = text.substr(2);
        if (!detail::valid_base64(encoded))
            return error::parse_error;
        out.type = static_cast<packet_type>(text[1] - '0');
        out.binary = true;
        out.data.resize((encoded.size() + 3) / 4 * 3); // room for a final partial group
        const auto [written, read] = detail::base64_decode(out.data.data(), encoded.data(), encoded.size());
        out.data.resize(written);
        return {};
    }
    if (!is_type_digit(text[0]))
        return error::parse_error;
    out.type = static_cast<packet_type>(text[0] - '0');
    out.binary = false;
    out.data.assign(text.substr(1));
    return {};
}

std::error_code decode_binary_packet(std::string_view bytes, packet& out) {
    if (bytes.empty() || static_cast<unsigned char>(bytes[0]) > 6)
        return error::parse_error;
    out.type = static_cast<packet_type>(bytes[0]);
    out.binary = true;
    out.data.assign(bytes.substr(1));
    return {};
}

std::error_code decode_payload(std::string_view payload, std::size_t max_packets, std::vector<packet>& out) {
    if (payload.empty() || !detail::valid_utf8(payload))
        return error::parse_error;
    std::size_t count = 0;
    std::size_t pos = 0;
    while (pos < payload.size()) {
        std::size_t length = 0;
        std::size_t digits = 0;
        while (pos < payload.size() && payload[pos] >= '0' && payload[pos] <= '9') {
            if (++digits > max_length_digits)
                return error::parse_error;
            length = length * 10 + static_cast<std::size_t>(payload[pos] - '0');
            ++pos;
        }
        if (digits == 0 || pos == payload.size() || payload[pos] != ':')
            return error::parse_error;
        ++pos;
        // `length` UTF-16 code units from here; never more bytes than the payload has left.
        const std::size_t start = pos;
        std::size_t units = 0;
        while (units < length) {
            if (pos == payload.size())
                return error::parse_error;
            const auto [bytes, n] = sequence_of(static_cast<unsigned char>(payload[pos]));
            units += n;
            pos += bytes;
        }
        if (units != length) // the length ends inside a surrogate pair
            return error::parse_error;
        if (length == 0)
            continue;
        if (++count > max_packets)
            return error::too_many_packets;
        packet p;
        if (auto ec = v3::decode_packet(payload.substr(start, pos - start), p))
            return ec;
        out.push_back(std::move(p));
    }
    return {};
}

std::error_code decode_binary_payload(std::string_view payload, std::size_t max_packets,
                                      std::vector<packet>& out) {
    if (payload.empty())
        return error::parse_error;
    std::size_t count = 0;
    std::size_t pos = 0;
    while (pos < payload.size()) {
        const auto marker = static_cast<unsigned char>(payload[pos++]);
        if (marker > 1)
            return error::parse_error;
        std::size_t length = 0;
        std::size_t digits = 0;
        while (pos < payload.size() && static_cast<unsigned char>(payload[pos]) <= 9) {
            if (++digits > max_length_digits)
                return error::parse_error;
            length = length * 10 + static_cast<unsigned char>(payload[pos]);
            ++pos;
        }
        if (digits == 0 || pos == payload.size() || static_cast<unsigned char>(payload[pos]) != 255)
            return error::parse_error;
        ++pos;
        if (length > payload.size() - pos)
            return error::parse_error;
        const std::string_view body = payload.substr(pos, length);
        pos += length;
        if (++count > max_packets)
            return error::too_many_packets;
        packet p;
        if (marker == 0) {
            if (!detail::valid_utf8(body))
                return error::parse_error;
            if (auto ec = v3::decode_packet(body, p))
                return ec;
        } else if (auto ec = v3::decode_binary_packet(body, p)) {
            return ec;
        }
        out.push_back(std::move(p));
    }
    return {};
}

void append_text(std::string& out, packet_type type, bool binary, std::string_view data) {
    if (binary) {
        out.push_back('b');
        out.push_back(static_cast<char>('0' + static_cast<int>(type)));
        append_base64(out, data);
        return;
    }
    out.push_back(static_cast<char>('0' + static_cast<int>(type)));
    out.append(data);
}

void append_payload_record(std::string& out, packet_type type, bool binary, std::string_view data) {
    // The type digit and the base64 text are one UTF-16 unit per byte; the data of a text packet is UTF-8.
    append_decimal(out, binary ? text_size(type, binary, data) : 1 + utf16_length(data));
    out.push_back(':');
    v3::append_text(out, type, binary, data);
}

void append_binary_payload_record(std::string& out, packet_type type, bool binary, std::string_view data) {
    out.push_back(binary ? '\x01' : '\x00');
    const std::size_t at = out.size();
    append_decimal(out, 1 + data.size());
    for (std::size_t i = at; i < out.size(); ++i)
        out[i] = static_cast<char>(out[i] - '0'); // one byte per digit, its value
    out.push_back('\xff');
    if (binary)
        out.push_back(static_cast<char>(type));
    else
        out.push_back(static_cast<char>('0' + static_cast<int>(type)));
    out.append(data);
}

std::string encode_payload(const std::vector<packet>& packets) {
    if (packets.empty())
        return "0:";
    std::string out;
    for (const auto& p : packets)
        append_payload_record(out, p.type, p.binary, p.data);
    return out;
}

std::string encode_binary_payload(const std::vector<packet>& packets) {
    std::string out;
    for (const auto& p : packets)
        append_binary_payload_record(out, p.type, p.binary, p.data);
    return out;
}

} // namespace sio::engineio::v3
