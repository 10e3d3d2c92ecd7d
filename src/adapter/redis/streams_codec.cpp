// The wire format of the Redis streams adapter (see streams_codec.hpp): cluster messages to and from the
// ClusterAdapter envelope, stream entry fields and MessagePack, and the stored sessions.
#include "streams_codec.hpp"

#include <sio/protocol/packet.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>

#include "../../engineio/beast_detail.hpp"
#include "../../protocol/msgpack.hpp"
#include "../wire_values.hpp"

namespace sio::streams_detail {

namespace json = boost::json;
using kind = cluster_message::kind;

namespace {

// The values of the cluster messages (options, handshakes, events) are written and read as the other
// cluster formats do (wire_values.hpp); only `opts` is required here, as Node's streams adapter sends it.
using wire_values::event_data;
using wire_values::first_arg;
using wire_values::handshake_json;
using wire_values::handshake_of;
using wire_values::read_rooms;
using wire_values::string_array;

json::object opts_json(const broadcast_flags& f) {
    return wire_values::opts_json(f, true);
}

bool read_opts(const json::value* v, broadcast_flags& f) {
    return v && wire_values::read_opts(v, f);
}

bool read_event(const json::value* v, std::vector<std::string>& attachments, cluster_message& m) {
    return wire_values::read_event(v, std::move(attachments), m);
}

std::optional<std::string> string_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string())
        return std::nullopt;
    return std::string(v->get_string());
}

/// The `data` of a message (null for the kinds without one).
json::value message_data(const cluster_message& m, const std::string& nsp) {
    switch (m.type) {
    case kind::broadcast: {
        json::object o{{"packet", json::object{{"type", 2}, {"data", event_data(m)}, {"nsp", nsp}}},
                       {"opts", opts_json(m.opts)}};
        if (!m.request_id.empty())
            o["requestId"] = m.request_id;
        return o;
    }
    case kind::sockets_join:
    case kind::sockets_leave:
        return json::object{{"opts", opts_json(m.opts)}, {"rooms", string_array(m.rooms)}};
    case kind::disconnect_sockets:
        return json::object{{"opts", opts_json(m.opts)}, {"close", m.close}};
    case kind::fetch_sockets:
        return json::object{{"opts", opts_json(m.opts)}, {"requestId", m.request_id}};
    case kind::fetch_sockets_response: {
        json::array sockets;
        for (const auto& s : m.sockets)
            sockets.push_back(json::object{{"id", s.id},
                                           {"handshake", handshake_json(s.handshake)},
                                           {"rooms", string_array(s.rooms)},
                                           {"data", s.data}});
        return json::object{{"requestId", m.request_id}, {"sockets", std::move(sockets)}};
    }
    case kind::server_side_emit: {
        json::object o{{"packet", event_data(m)}};
        if (!m.request_id.empty())
            o["requestId"] = m.request_id;
        return o;
    }
    case kind::server_side_emit_response:
    case kind::broadcast_ack:
        return json::object{{"requestId", m.request_id}, {"packet", first_arg(m.args)}};
    case kind::broadcast_client_count:
        return json::object{{"requestId", m.request_id}, {"clientCount", m.client_count}};
    default:
        return nullptr;
    }
}

/// Fills `m` from the `data` of a message of type `type`; false (with `why`) when malformed.
bool read_data(int type, const json::value* data, std::vector<std::string>& attachments, cluster_message& m,
               const char*& why) {
    const json::object* o = data && data->is_object() ? &data->get_object() : nullptr;
    if (!o) {
        why = "message data is not an object";
        return false;
    }
    if (auto id = string_field(*o, "requestId"))
        m.request_id = std::move(*id);
    switch (type) {
    case message_type::broadcast: {
        m.type = kind::broadcast;
        const auto* packet = o->if_contains("packet");
        if (!packet || !packet->is_object() ||
            !read_event(packet->get_object().if_contains("data"), attachments, m) ||
            !read_opts(o->if_contains("opts"), m.opts)) {
            why = "malformed broadcast";
            return false;
        }
        return true;
    }
    case message_type::sockets_join:
    case message_type::sockets_leave:
        m.type = type == message_type::sockets_join ? kind::sockets_join : kind::sockets_leave;
        if (!read_opts(o->if_contains("opts"), m.opts) || !o->if_contains("rooms") ||
            !read_rooms(o->if_contains("rooms"), m.rooms)) {
            why = "malformed join or leave";
            return false;
        }
        return true;
    case message_type::disconnect_sockets: {
        m.type = kind::disconnect_sockets;
        const auto* close = o->if_contains("close");
        if (!read_opts(o->if_contains("opts"), m.opts) || (close && !close->is_bool())) {
            why = "malformed disconnection";
            return false;
        }
        m.close = close && close->get_bool();
        return true;
    }
    case message_type::fetch_sockets:
        m.type = kind::fetch_sockets;
        if (!read_opts(o->if_contains("opts"), m.opts) || m.request_id.empty()) {
            why = "malformed fetch";
            return false;
        }
        return true;
    case message_type::fetch_sockets_response: {
        m.type = kind::fetch_sockets_response;
        const auto* socks = o->if_contains("sockets");
        if (m.request_id.empty() || !socks || !socks->is_array()) {
            why = "malformed fetch response";
            return false;
        }
        for (const auto& s : socks->get_array()) {
            if (!s.is_object())
                continue;
            const auto& so = s.get_object();
            auto id = string_field(so, "id");
            if (!id)
                continue;
            socket_details d;
            d.id = std::move(*id);
            if (const auto* h = so.if_contains("handshake"); h && h->is_object())
                d.handshake = handshake_of(h->get_object());
            read_rooms(so.if_contains("rooms"), d.rooms);
            if (const auto* v = so.if_contains("data"))
                d.data = *v;
            m.sockets.push_back(std::move(d));
        }
        return true;
    }
    case message_type::server_side_emit:
        m.type = kind::server_side_emit;
        if (!read_event(o->if_contains("packet"), attachments, m)) {
            why = "malformed server-side event";
            return false;
        }
        return true;
    case message_type::server_side_emit_response:
    case message_type::broadcast_ack: {
        m.type = type == message_type::broadcast_ack ? kind::broadcast_ack : kind::server_side_emit_response;
        if (m.request_id.empty()) {
            why = "response without request id";
            return false;
        }
        const auto* v = o->if_contains("packet");
        m.args.values.push_back(v ? *v : json::value(nullptr));
        m.args.attachments = std::move(attachments);
        return true;
    }
    case message_type::broadcast_client_count: {
        m.type = kind::broadcast_client_count;
        const auto* count = o->if_contains("clientCount");
        boost::system::error_code ec;
        if (m.request_id.empty() || !count || !count->is_number())
            ec = make_error_code(boost::system::errc::invalid_argument);
        else
            m.client_count = count->to_number<std::size_t>(ec);
        if (ec || m.client_count > 10'000'000) {
            why = "malformed client count";
            return false;
        }
        return true;
    }
    default:
        why = "unknown message type";
        return false;
    }
}

decoded_message dropped(const char* why) {
    decoded_message d;
    d.result = decoded_message::outcome::dropped;
    d.why = why;
    return d;
}

/// The common part of both forms: the type, uid and nsp are known, `data` may be null.
decoded_message finish(int type, std::string uid, std::string nsp, const json::value* data,
                       std::vector<std::string>& attachments) {
    decoded_message d;
    d.nsp = std::move(nsp);
    if (type == message_type::initial_heartbeat || type == message_type::heartbeat ||
        type == message_type::adapter_close) {
        d.result = decoded_message::outcome::ignored;
        return d;
    }
    d.message.uid = uid.empty() ? std::string("emitter") : std::move(uid);
    if (!read_data(type, data, attachments, d.message, d.why)) {
        d.result = decoded_message::outcome::dropped;
        return d;
    }
    d.result = decoded_message::outcome::message;
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

bool parse_json(std::string_view text, json::value& out) {
    boost::system::error_code ec;
    json::parse_options po;
    po.max_depth = 32;
    out = json::parse(text, ec, {}, po);
    return !ec;
}

bool digits(std::string_view s) noexcept {
    return !s.empty() && s.size() <= 20 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

int type_of(kind k) noexcept {
    switch (k) {
    case kind::broadcast:
        return message_type::broadcast;
    case kind::sockets_join:
        return message_type::sockets_join;
    case kind::sockets_leave:
        return message_type::sockets_leave;
    case kind::disconnect_sockets:
        return message_type::disconnect_sockets;
    case kind::fetch_sockets:
        return message_type::fetch_sockets;
    case kind::fetch_sockets_response:
        return message_type::fetch_sockets_response;
    case kind::server_side_emit:
        return message_type::server_side_emit;
    case kind::server_side_emit_response:
        return message_type::server_side_emit_response;
    case kind::broadcast_client_count:
        return message_type::broadcast_client_count;
    case kind::broadcast_ack:
        return message_type::broadcast_ack;
    default:
        return 0;
    }
}

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
    const int type = type_of(m.type);
    if (type == 0)
        return false;
    out.uid = m.uid;
    out.nsp = nsp;
    out.type = std::to_string(type);
    const auto data = message_data(m, nsp);
    out.data.reset();
    if (data.is_null())
        return true;
    const bool may_hold_binary =
        type == message_type::broadcast || type == message_type::fetch_sockets_response ||
        type == message_type::server_side_emit || type == message_type::server_side_emit_response ||
        type == message_type::broadcast_ack;
    if (!plaintext && may_hold_binary && !m.args.attachments.empty()) {
        std::string packed;
        msgpack_detail::msgpack_encode(data, m.args.attachments, packed);
        out.data = base64(packed);
    } else {
        std::string text;
        protocol::append_json(data, text);
        out.data = std::move(text);
    }
    return true;
}

bool encode_envelope(const cluster_message& m, const std::string& nsp, std::string& out) {
    const int type = type_of(m.type);
    if (type == 0)
        return false;
    json::object o{{"type", type}, {"uid", m.uid}, {"nsp", nsp}};
    auto data = message_data(m, nsp);
    if (!data.is_null())
        o["data"] = std::move(data);
    out.clear();
    msgpack_detail::msgpack_encode(o, m.args.attachments, out);
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
    const json::value* dp = nullptr;
    if (data && !data->empty()) { // the reference reads an empty `data` as none
        if (data->front() == '{') {
            if (!parse_json(*data, value))
                return dropped("entry data is not JSON");
        } else {
            auto bytes = unbase64(*data);
            if (!bytes || msgpack_detail::msgpack_decode(*bytes, value, attachments))
                return dropped("entry data is neither JSON nor base64 MessagePack");
        }
        dp = &value;
    }
    return finish(t, uid ? std::string(*uid) : std::string(), std::string(*nsp), dp, attachments);
}

decoded_message decode_envelope(std::string_view payload) {
    json::value v;
    std::vector<std::string> attachments;
    if (msgpack_detail::msgpack_decode(payload, v, attachments) || !v.is_object())
        return dropped("message is not a MessagePack map");
    const auto& o = v.get_object();
    const auto* type = o.if_contains("type");
    auto nsp = string_field(o, "nsp");
    if (!type || !type->is_int64() || !nsp)
        return dropped("message without a type or nsp");
    const auto t = type->get_int64();
    if (t < 1 || t > 13)
        return dropped("unknown message type");
    return finish(static_cast<int>(t), string_field(o, "uid").value_or(""), std::move(*nsp),
                  o.if_contains("data"), attachments);
}

std::string encode_session(const recovery_session& s) {
    json::object o{{"sid", s.sid}, {"pid", s.pid}, {"rooms", string_array(s.rooms)}, {"data", s.data}};
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
    if (msgpack_detail::msgpack_decode(*bytes, v, attachments) || !v.is_object())
        return std::nullopt;
    const auto& o = v.get_object();
    auto sid = string_field(o, "sid");
    auto pid = string_field(o, "pid");
    if (!sid || !pid)
        return std::nullopt;
    recovery_session s;
    s.sid = std::move(*sid);
    s.pid = std::move(*pid);
    if (!read_rooms(o.if_contains("rooms"), s.rooms))
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
