// The msgpack parser: socket.io-msgpack-parser 3.0.x's format. That parser hands the packet object to
// notepack.io (2.2) as it is: a map with `type`, `data`, `id` (acks) and `nsp`, every binary buffer inline
// as `bin`, and types 0–4 only (binary packets are plain EVENT/ACK). Its decoder accepts any map with an
// integer type 0–4, a string nsp, data of the right shape and an integer id or none; other keys (the Node
// client sends `options`) are ignored. The MessagePack values themselves go through the notepack codec
// the Redis adapter uses (msgpack.hpp).
#include <sio/protocol/codec.hpp>

#include <boost/json/object.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "../log.hpp"
#include "msgpack.hpp"
#include <msgpuck.h>

namespace sio::protocol {
namespace {

namespace json = boost::json;
using msgpack_detail::put;

void put_key(std::string_view key, std::string& out) { // keys are short literals: fixstr
    put(out, mp_sizeof_strl(static_cast<std::uint32_t>(key.size())),
        [&](char* p) { mp_encode_strl(p, static_cast<std::uint32_t>(key.size())); });
    out.append(key);
}

void put_uint(std::uint64_t n, std::string& out) {
    put(out, mp_sizeof_uint(n), [n](char* p) { mp_encode_uint(p, n); });
}

void put_str(std::string_view s, std::string& out) {
    if (s.size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("msgpack: a string of 2^32 bytes or more");
    const auto n = static_cast<std::uint32_t>(s.size());
    put(out, mp_sizeof_strl(n), [n](char* p) { mp_encode_strl(p, n); });
    out.append(s);
}

/// The wire type: binary packets are plain EVENT and ACK in this format.
std::uint64_t wire_type(packet_type t) noexcept {
    if (t == packet_type::binary_event)
        return static_cast<std::uint64_t>(packet_type::event);
    if (t == packet_type::binary_ack)
        return static_cast<std::uint64_t>(packet_type::ack);
    return static_cast<std::uint64_t>(t);
}

/// An integer as JavaScript's Number.isInteger sees it (1.0 is one), or nothing.
std::optional<std::int64_t> js_integer(const json::value& v) {
    if (const auto* i = v.if_int64())
        return *i;
    if (const auto* u = v.if_uint64())
        return *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                   ? std::optional<std::int64_t>(static_cast<std::int64_t>(*u))
                   : std::nullopt;
    if (const auto* d = v.if_double();
        d && std::isfinite(*d) && std::floor(*d) == *d && std::fabs(*d) < 9007199254740992.0)
        return static_cast<std::int64_t>(*d);
    return std::nullopt;
}

/// The placeholder objects in `v` (depth bounded by the decoder's cap).
std::size_t count_placeholders(const json::value& v) {
    std::size_t num = 0;
    if (const auto* o = v.if_object()) {
        if (is_placeholder(v, num))
            return 1;
        std::size_t n = 0;
        for (const auto& kv : *o)
            n += count_placeholders(kv.value());
        return n;
    }
    if (const auto* a = v.if_array()) {
        std::size_t n = 0;
        for (const auto& e : *a)
            n += count_placeholders(e);
        return n;
    }
    return 0;
}

class msgpack_decoder final : public packet_decoder {
public:
    explicit msgpack_decoder(const parser_limits& limits) : limits_(limits) {}

    std::error_code on_message(std::string data, bool binary, std::optional<packet>& out) override {
        out.reset();
        if (!binary)
            return parse_error::text_message;
        packet p;
        if (auto ec = decode_msgpack(data, limits_, p)) {
            SIO_LOG(parser, debug, "cannot decode a msgpack packet: ", ec);
            return ec;
        }
        out.emplace(std::move(p));
        return {};
    }
    bool pending() const noexcept override { return false; }
    void reset() noexcept override {}

private:
    parser_limits limits_;
};

class msgpack_codec final : public packet_codec {
public:
    std::string_view name() const noexcept override { return "msgpack"; }
    encoded_packet encode(const packet& p) const override {
        encoded_packet e;
        e.attachments.push_back(std::make_shared<const std::string>(encode_msgpack(p)));
        return e;
    }
    std::unique_ptr<packet_decoder> make_decoder(const parser_limits& limits) const override {
        return std::make_unique<msgpack_decoder>(limits);
    }
};

} // namespace

std::string encode_msgpack(const packet& p) {
    // The key order of the reference server's packets: {type, data, id?, nsp}, an ACK {id, type, data, nsp}.
    const bool has_data = !p.data.is_null();
    const bool has_id = p.id.has_value();
    const auto entries = 2u + (has_data ? 1u : 0u) + (has_id ? 1u : 0u);
    std::string out;
    out.reserve(64 + p.nsp.size()); // the map, its keys and a small `data`: one allocation
    put(out, mp_sizeof_map(entries), [entries](char* q) { mp_encode_map(q, entries); });
    const bool ack = p.type == packet_type::ack || p.type == packet_type::binary_ack;
    if (has_id && ack) {
        put_key("id", out);
        put_uint(*p.id, out);
    }
    put_key("type", out);
    put_uint(wire_type(p.type), out);
    if (has_data) {
        put_key("data", out);
        msgpack_detail::msgpack_encode(p.data, p.attachments, out);
    }
    if (has_id && !ack) {
        put_key("id", out);
        put_uint(*p.id, out);
    }
    put_key("nsp", out);
    put_str(p.nsp, out);
    return out;
}

std::error_code decode_msgpack(std::string_view bytes, const parser_limits& limits, packet& out) {
    out = packet{};
    if (bytes.empty())
        return parse_error::empty;
    // The packet map is one level above `data`: `data` nests as deep as the JSON parser lets JSON nest.
    // Every element takes at least one byte of the input, so the message size bounds the element count.
    msgpack_detail::msgpack_limits caps;
    caps.max_depth = limits.max_depth + 1;
    caps.max_elements = bytes.size();
    json::value root;
    std::vector<std::string> attachments;
    if (msgpack_detail::msgpack_decode(bytes, root, attachments, caps) || !root.is_object())
        return parse_error::invalid_msgpack;
    auto& o = root.get_object();

    const auto* type = o.if_contains("type");
    const auto t = type ? js_integer(*type) : std::nullopt;
    if (!t || *t < 0 || *t > static_cast<std::int64_t>(packet_type::connect_error))
        return parse_error::unknown_type;
    out.type = static_cast<packet_type>(*t);

    const auto* nsp = o.if_contains("nsp");
    if (!nsp || !nsp->is_string())
        return parse_error::invalid_namespace;
    out.nsp.assign(nsp->get_string().data(), nsp->get_string().size());

    if (const auto* id = o.if_contains("id")) { // an undefined id (d4 00 00) was left out by the decoder
        const auto n = js_integer(*id);
        if (!n || *n < 0 || static_cast<std::uint64_t>(*n) > max_ack_id)
            return parse_error::invalid_ack_id;
        out.id = static_cast<std::uint64_t>(*n);
    }

    if (auto* data = o.if_contains("data")) {
        if (data->is_null()) // nil is never valid data (absent or undefined data is)
            return parse_error::invalid_payload;
        out.data = std::move(*data);
    }

    if (attachments.size() > limits.max_attachments)
        return parse_error::too_many_attachments;
    std::size_t total = 0;
    for (const auto& a : attachments)
        total += a.size();
    if (total > limits.max_attachment_bytes)
        return parse_error::attachment_too_large;
    if (!attachments.empty()) {
        if (out.type == packet_type::event)
            out.type = packet_type::binary_event;
        else if (out.type == packet_type::ack)
            out.type = packet_type::binary_ack;
    }
    // Each binary value became one placeholder. A map the client wrote in the shape of a placeholder would
    // alias a buffer (or be refused as out of range): refused, the format has no such thing.
    if (count_placeholders(out.data) != attachments.size())
        return parse_error::illegal_attachments;
    out.attachments = std::move(attachments);
    return validate_packet(out);
}

std::shared_ptr<const packet_codec> msgpack_parser() {
    static const auto instance = std::make_shared<const msgpack_codec>();
    return instance;
}

} // namespace sio::protocol
