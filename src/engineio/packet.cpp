#include <sio/engineio/packet.hpp>
#include <sio/error.hpp>

#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serializer.hpp>

#include "beast_detail.hpp"
#include "utf8.hpp"

namespace sio::engineio {
namespace {} // namespace

std::error_code decode_packet(std::string_view text, packet& out) {
    if (text.empty())
        return error::parse_error;
    if (text[0] == 'b') {
        const std::string_view encoded = text.substr(1);
        if (!detail::valid_base64(encoded))
            return error::parse_error;
        out.type = packet_type::message;
        out.binary = true;
        // Room for a final partial group too: Beast's decoded_size (n / 4 * 3) is short by up to two bytes
        // for unpadded input, and decode() writes them anyway.
        out.data.resize((encoded.size() + 3) / 4 * 3);
        const auto [written, read] = detail::base64_decode(out.data.data(), encoded.data(), encoded.size());
        out.data.resize(written);
        return {};
    }
    if (text[0] < '0' || text[0] > '6')
        return error::parse_error;
    out.type = static_cast<packet_type>(text[0] - '0');
    out.binary = false;
    out.data.assign(text.substr(1));
    return {};
}

std::error_code decode_payload(std::string_view payload, std::size_t max_packets, std::vector<packet>& out) {
    if (!detail::valid_utf8(payload))
        return error::parse_error;
    std::size_t count = 0;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t end = payload.find(record_separator, pos);
        const std::string_view record =
            payload.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        if (++count > max_packets)
            return error::too_many_packets;
        packet p;
        if (auto ec = decode_packet(record, p))
            return ec;
        out.push_back(std::move(p));
        if (end == std::string_view::npos)
            return {};
        pos = end + 1;
    }
}

void append_text(std::string& out, packet_type type, bool binary, std::string_view data) {
    if (binary) {
        const std::size_t at = out.size();
        out.resize(at + 1 + detail::base64_encoded_size(data.size()));
        out[at] = 'b';
        const std::size_t n = detail::base64_encode(out.data() + at + 1, data.data(), data.size());
        out.resize(at + 1 + n);
        return;
    }
    out.push_back(static_cast<char>('0' + static_cast<int>(type)));
    out.append(data);
}

std::string encode_text(const packet& p) {
    std::string out;
    append_text(out, p.type, p.binary, p.data);
    return out;
}

std::string encode_payload(const std::vector<packet>& packets) {
    std::string out;
    for (const auto& p : packets) {
        if (!out.empty())
            out.push_back(record_separator);
        append_text(out, p.type, p.binary, p.data);
    }
    return out;
}

std::string encode_open(const open_data& data) {
    // Every handshake builds one: the JSON lives in a stack buffer, so only the text is allocated.
    unsigned char arena[512];
    boost::json::monotonic_resource mr(arena, sizeof(arena));
    boost::json::object o(&mr);
    o.reserve(5);
    o["sid"] = data.sid;
    auto& upgrades = o["upgrades"].emplace_array();
    for (const auto& u : data.upgrades)
        upgrades.emplace_back(u);
    o["pingInterval"] = data.ping_interval_ms;
    o["pingTimeout"] = data.ping_timeout_ms;
    o["maxPayload"] = data.max_payload;
    std::string out;
    out.reserve(128);
    out += '0';
    boost::json::serializer sr;
    sr.reset(&o);
    char buf[128];
    while (!sr.done())
        out += sr.read(buf);
    return out;
}

} // namespace sio::engineio
