// The wire format of the Redis streams adapter (see streams_codec.hpp): what is stream-specific (entry
// fields, base64, the required fields of Node's streams format, sessions, the namespace hash, offsets) on top
// of the cluster-adapter messages (cluster_wire.hpp) and their values (wire_values.hpp).
#include "streams_codec.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "../../engineio/beast_detail.hpp"
#include "../../protocol/msgpack.hpp"
#include "../cluster_wire.hpp"
#include "../wire_values.hpp"

namespace sio::streams_detail {

namespace json = boost::json;
using kind = cluster_message::kind;
namespace message_type = cluster_wire::message_type;

namespace {

/// The `data` of `m` as this format writes it: the cluster adapter's, with the namespace in a broadcast's
/// packet (Node's ClusterAdapter sends the whole packet).
bool stream_data(const cluster_message& m, const std::string& nsp, json::value& data) {
    if (!cluster_wire::encode_data(m, data))
        return false;
    if (m.type == kind::broadcast)
        if (auto* packet = data.as_object().if_contains("packet"); packet && packet->is_object())
            packet->as_object()["nsp"] = nsp;
    return true;
}

/// What Node's streams format requires and the other cluster formats leave optional: `opts` on the messages
/// that select sockets, `rooms` on joins and leaves, a boolean `close`. Null when `data` has them.
const char* missing_required(int type, const json::value& data) {
    if (!data.is_object())
        return nullptr; // cluster_wire says why
    const auto& o = data.get_object();
    switch (type) {
    case message_type::broadcast:
    case message_type::disconnect_sockets:
    case message_type::fetch_sockets:
        if (!o.if_contains("opts"))
            return "message without opts";
        if (const auto* close = o.if_contains("close");
            type == message_type::disconnect_sockets && close && !close->is_bool())
            return "malformed disconnection";
        return nullptr;
    case message_type::sockets_join:
    case message_type::sockets_leave:
        return o.if_contains("opts") && o.if_contains("rooms") ? nullptr : "malformed join or leave";
    default:
        return nullptr;
    }
}

std::optional<std::string> string_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string())
        return std::nullopt;
    return std::string(v->get_string());
}

decoded_message dropped(const char* why) {
    decoded_message d;
    d.result = decoded_message::outcome::dropped;
    d.why = why;
    return d;
}

/// The message of type `type` from `uid` on namespace `nsp`, its `data` decoded (null when absent).
decoded_message finish(int type, std::string uid, std::string nsp, const json::value& data,
                       std::vector<std::string> attachments) {
    if (type >= message_type::broadcast && type <= message_type::broadcast_ack)
        if (const char* why = missing_required(type, data))
            return dropped(why);
    auto c = cluster_wire::decode_parts(type, data, std::move(attachments),
                                        uid.empty() ? std::string("emitter") : std::move(uid));
    decoded_message d;
    d.nsp = std::move(nsp);
    d.why = c.why;
    switch (c.result) {
    case cluster_wire::decoded::outcome::message:
        d.result = decoded_message::outcome::message;
        d.message = std::move(c.message);
        break;
    case cluster_wire::decoded::outcome::ignored:
        d.result = decoded_message::outcome::ignored;
        break;
    case cluster_wire::decoded::outcome::dropped:
        d.result = decoded_message::outcome::dropped;
        break;
    }
    return d;
}

std::string base64(std::string_view bytes) {
    std::string out(engineio::detail::base64_encoded_size(bytes.size()), '\0');
    out.resize(engineio::detail::base64_encode(out.data(), bytes.data(), bytes.size()));
    return out;
}

std::optional<std::string> unbase64(std::string_view text) {
    if (!engineio::detail::valid_base64(text))
        return std::nullopt;
    std::string out((text.size() + 3) / 4 * 3, '\0');
    out.resize(engineio::detail::base64_decode(out.data(), text.data(), text.size()).first);
    return out;
}

bool digits(std::string_view s) noexcept {
    return !s.empty() && s.size() <= 20 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

bool is_ephemeral(const cluster_message& m) noexcept {
    switch (m.type) {
    case kind::broadcast:
        return !m.request_id.empty();
    case kind::sockets_join:
    case kind::sockets_leave:
    case kind::disconnect_sockets:
        return false;
    default:
        return true;
    }
}

bool encode_entry(const cluster_message& m, const std::string& nsp, bool plaintext, entry_fields& out) {
    json::value data;
    if (!stream_data(m, nsp, data))
        return false;
    const int type = cluster_wire::type_of(m.type);
    out.uid = m.uid;
    out.nsp = nsp;
    out.type = std::to_string(type);
    if (!plaintext && cluster_wire::may_carry_binary(type) && !m.args.attachments.empty())
        out.data = base64(wire_values::encode_msgpack(data, m.args.attachments));
    else
        out.data = wire_values::user_json(data);
    return true;
}

bool encode_envelope(const cluster_message& m, const std::string& nsp, std::string& out) {
    json::value data;
    if (!stream_data(m, nsp, data))
        return false;
    json::object o{
        {"type", cluster_wire::type_of(m.type)}, {"uid", m.uid}, {"nsp", nsp}, {"data", std::move(data)}};
    out = wire_values::encode_msgpack(o, m.args.attachments);
    return true;
}

decoded_message decode_entry(const std::vector<std::pair<std::string_view, std::string_view>>& fields) {
    std::optional<std::string_view> uid, nsp, type, data;
    for (const auto& [name, value] : fields) {
        if (name == "uid")
            uid = value;
        else if (name == "nsp")
            nsp = value;
        else if (name == "type")
            type = value;
        else if (name == "data")
            data = value;
    }
    if (!nsp)
        return dropped("entry without nsp");
    if (!type || !digits(*type))
        return dropped("entry without a numeric type");
    int t = 0;
    if (std::from_chars(type->data(), type->data() + type->size(), t).ec != std::errc{})
        return dropped("entry type out of range");
    json::value value;
    std::vector<std::string> attachments;
    if (data && !data->empty()) { // the reference reads an empty `data` as none
        if (data->front() == '{') {
            if (!wire_values::json_elements_within(*data))
                return dropped("entry data holds more JSON elements than the cap");
            if (!wire_values::decode_payload(*data, value, attachments))
                return dropped("entry data is not JSON");
        } else {
            auto bytes = unbase64(*data);
            if (!bytes || bytes->empty() || bytes->front() == '{' ||
                !wire_values::decode_payload(*bytes, value, attachments))
                return dropped("entry data is neither JSON nor base64 MessagePack");
        }
    }
    return finish(t, uid ? std::string(*uid) : std::string(), std::string(*nsp), value,
                  std::move(attachments));
}

decoded_message decode_envelope(std::string_view payload) {
    json::value v;
    std::vector<std::string> attachments;
    if (msgpack_detail::msgpack_decode(payload, v, attachments, wire_values::redis_msgpack_limits) ||
        !v.is_object())
        return dropped("message is not a MessagePack map");
    const auto& o = v.get_object();
    const auto* type = o.if_contains("type");
    const auto* nsp = o.if_contains("nsp");
    if (!type || !type->is_int64() || !nsp || !nsp->is_string())
        return dropped("message without a type or nsp");
    const auto t = type->get_int64();
    if (t < 1 || t > 13)
        return dropped("unknown message type");
    const auto* uid = o.if_contains("uid");
    const auto* data = o.if_contains("data");
    return finish(
        static_cast<int>(t), uid && uid->is_string() ? std::string(uid->get_string()) : std::string(),
        std::string(nsp->get_string()), data ? *data : json::value(nullptr), std::move(attachments));
}

std::string encode_session(const recovery_session& s) {
    json::object o{
        {"sid", s.sid}, {"pid", s.pid}, {"rooms", wire_values::string_array(s.rooms)}, {"data", s.data}};
    std::string packed;
    msgpack_detail::msgpack_encode(o, {}, packed);
    return base64(packed);
}

std::optional<recovery_session> decode_session(std::string_view stored) {
    auto bytes = unbase64(stored);
    if (!bytes)
        return std::nullopt;
    json::value v;
    std::vector<std::string> attachments;
    if (msgpack_detail::msgpack_decode(*bytes, v, attachments, wire_values::redis_msgpack_limits) ||
        !v.is_object())
        return std::nullopt;
    const auto& o = v.get_object();
    auto sid = string_field(o, "sid");
    auto pid = string_field(o, "pid");
    if (!sid || !pid)
        return std::nullopt;
    recovery_session s;
    s.sid = std::move(*sid);
    s.pid = std::move(*pid);
    if (!wire_values::read_rooms(o.if_contains("rooms"), s.rooms))
        return std::nullopt;
    if (const auto* d = o.if_contains("data"))
        s.data = *d;
    return s;
}

std::int32_t js_hash_code(std::string_view text) {
    std::uint32_t h = 0;
    auto add = [&h](std::uint32_t unit) { h = h * 31u + unit; };
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        std::uint32_t cp = 0xFFFD;
        int extra = 0;
        if (*p < 0x80) {
            cp = *p;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1F;
            extra = 1;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0F;
            extra = 2;
        } else if ((*p & 0xF8) == 0xF0) {
            cp = *p & 0x07;
            extra = 3;
        }
        ++p;
        for (int i = 0; i < extra; ++i) {
            if (p >= end || (*p & 0xC0) != 0x80) {
                cp = 0xFFFD;
                break;
            }
            cp = (cp << 6) | (*p++ & 0x3F);
        }
        if (cp >= 0x10000 && cp <= 0x10FFFF) {
            cp -= 0x10000;
            add(0xD800 + (cp >> 10));
            add(0xDC00 + (cp & 0x3FF));
        } else {
            add(cp > 0x10FFFF ? 0xFFFD : cp);
        }
    }
    return static_cast<std::int32_t>(h);
}

std::string stream_for(const std::string& nsp, const std::string& name, unsigned count) {
    if (count <= 1)
        return name;
    const std::int32_t index = js_hash_code(nsp) % static_cast<std::int32_t>(count);
    return name + "-" + std::to_string(index);
}

bool valid_offset(std::string_view offset) noexcept {
    const auto dash = offset.find('-');
    return dash != std::string_view::npos && digits(offset.substr(0, dash)) &&
           digits(offset.substr(dash + 1));
}

std::optional<std::string> next_offset(std::string_view offset) {
    if (!valid_offset(offset))
        return std::nullopt;
    const auto dash = offset.find('-');
    const auto seq_text = offset.substr(dash + 1);
    std::uint64_t seq = 0;
    if (std::from_chars(seq_text.data(), seq_text.data() + seq_text.size(), seq).ec != std::errc{} ||
        seq == UINT64_MAX)
        return std::nullopt;
    return std::string(offset.substr(0, dash)) + "-" + std::to_string(seq + 1);
}

bool reaches(const std::vector<std::string>& session_rooms, const broadcast_flags& opts) {
    auto has = [](const std::vector<std::string>& v, const std::string& r) {
        return std::find(v.begin(), v.end(), r) != v.end();
    };
    const bool included =
        opts.rooms.empty() || std::any_of(session_rooms.begin(), session_rooms.end(),
                                          [&](const auto& r) { return has(opts.rooms, r); });
    const bool excluded = std::any_of(session_rooms.begin(), session_rooms.end(),
                                      [&](const auto& r) { return has(opts.except, r); });
    return included && !excluded;
}

} // namespace sio::streams_detail
