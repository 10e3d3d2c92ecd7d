// The cluster-adapter messages (see cluster_wire.hpp): `cluster_message` to and from the envelope
// `{type, data, uid, nsp}` of Node's ClusterAdapter, in JSON or msgpack.
#include "cluster_wire.hpp"

#include <boost/json.hpp>

#include "wire_values.hpp"

namespace sio::cluster_wire {

namespace json = boost::json;
using kind = cluster_message::kind;
using namespace wire_values;

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
    case kind::all_rooms:
    case kind::all_rooms_response:
        return 0;
    }
    return 0;
}

bool may_carry_binary(int type) noexcept {
    return type == message_type::broadcast || type == message_type::broadcast_ack ||
           type == message_type::fetch_sockets_response || type == message_type::server_side_emit ||
           type == message_type::server_side_emit_response;
}

bool encode_data(const cluster_message& m, json::value& data) {
    json::object o;
    switch (m.type) {
    case kind::broadcast:
        // The packet carries no `nsp`: the envelope does.
        o["packet"] = json::object{{"type", 2}, {"data", event_data(m)}};
        if (!m.request_id.empty())
            o["requestId"] = m.request_id;
        o["opts"] = opts_json(m.opts, true);
        break;
    case kind::sockets_join:
    case kind::sockets_leave:
        o["opts"] = opts_json(m.opts, true);
        o["rooms"] = string_array(m.rooms);
        break;
    case kind::disconnect_sockets:
        o["opts"] = opts_json(m.opts, true);
        o["close"] = m.close;
        break;
    case kind::fetch_sockets:
        o["opts"] = opts_json(m.opts, true);
        o["requestId"] = m.request_id;
        break;
    case kind::fetch_sockets_response: {
        json::array sockets;
        sockets.reserve(m.sockets.size());
        for (const auto& s : m.sockets)
            sockets.push_back(socket_json(s));
        o["requestId"] = m.request_id;
        o["sockets"] = std::move(sockets);
        break;
    }
    case kind::server_side_emit:
        if (!m.request_id.empty())
            o["requestId"] = m.request_id;
        o["packet"] = event_data(m);
        break;
    case kind::server_side_emit_response:
    case kind::broadcast_ack:
        o["requestId"] = m.request_id;
        o["packet"] = first_arg(m.args);
        break;
    case kind::broadcast_client_count:
        o["requestId"] = m.request_id;
        o["clientCount"] = m.client_count;
        break;
    case kind::all_rooms:
    case kind::all_rooms_response:
        return false;
    }
    data = std::move(o);
    return true;
}

bool encode(const cluster_message& m, const std::string& nsp, encoding how, std::string& out) {
    json::value data;
    if (!encode_data(m, data))
        return false;
    const int type = type_of(m.type);
    json::object envelope{{"type", type}, {"data", std::move(data)}, {"uid", m.uid}, {"nsp", nsp}};
    const bool binary = !m.args.attachments.empty();
    const bool as_msgpack =
        how == encoding::msgpack || (how == encoding::json_unless_binary && binary && may_carry_binary(type));
    out = as_msgpack ? encode_msgpack(envelope, m.args.attachments) : user_json(envelope);
    return true;
}

namespace {

decoded dropped(const char* why) {
    decoded d;
    d.result = decoded::outcome::dropped;
    d.why = why;
    return d;
}

/// The string `key` of `o`, or empty.
std::string string_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

} // namespace

decoded decode_parts(int type, const json::value& data, std::vector<std::string> attachments,
                     std::string uid) {
    if (type == message_type::initial_heartbeat || type == message_type::heartbeat ||
        type == message_type::adapter_close)
        return {}; // no heartbeats: a server is counted through Redis, not by its messages
    if (type < message_type::broadcast || type > message_type::broadcast_ack)
        return dropped("unknown message type");
    if (!data.is_object())
        return dropped("message without a data object");
    const auto& o = data.get_object();
    decoded d;
    auto& m = d.message;
    m.uid = std::move(uid);
    m.request_id = string_field(o, "requestId");
    if (!read_opts(o.if_contains("opts"), m.opts))
        return dropped("malformed options");
    switch (type) {
    case message_type::broadcast: {
        m.type = kind::broadcast;
        const auto* packet = o.if_contains("packet");
        if (!packet || !packet->is_object() ||
            !read_event(packet->get_object().if_contains("data"), std::move(attachments), m))
            return dropped("malformed broadcast packet");
        break;
    }
    case message_type::sockets_join:
    case message_type::sockets_leave:
        m.type = type == message_type::sockets_join ? kind::sockets_join : kind::sockets_leave;
        if (!read_rooms(o.if_contains("rooms"), m.rooms))
            return dropped("malformed rooms");
        break;
    case message_type::disconnect_sockets:
        m.type = kind::disconnect_sockets;
        if (const auto* close = o.if_contains("close"); close && close->is_bool())
            m.close = close->get_bool();
        break;
    case message_type::fetch_sockets:
        m.type = kind::fetch_sockets;
        if (m.request_id.empty())
            return dropped("fetch request without a request id");
        break;
    case message_type::fetch_sockets_response: {
        m.type = kind::fetch_sockets_response;
        const auto* sockets = o.if_contains("sockets");
        if (!sockets || !sockets->is_array())
            return dropped("fetch response without sockets");
        for (const auto& s : sockets->get_array()) {
            socket_details details;
            if (read_socket(s, details))
                m.sockets.push_back(std::move(details));
        }
        break;
    }
    case message_type::server_side_emit:
        m.type = kind::server_side_emit;
        if (!read_event(o.if_contains("packet"), std::move(attachments), m))
            return dropped("malformed server-side event");
        break;
    case message_type::server_side_emit_response:
    case message_type::broadcast_ack: {
        m.type = type == message_type::broadcast_ack ? kind::broadcast_ack : kind::server_side_emit_response;
        const auto* value = o.if_contains("packet");
        m.args.values.push_back(value ? *value : json::value(nullptr));
        m.args.attachments = std::move(attachments);
        break;
    }
    case message_type::broadcast_client_count: {
        m.type = kind::broadcast_client_count;
        const auto* count = o.if_contains("clientCount");
        boost::system::error_code ec;
        if (count && count->is_number())
            m.client_count = count->to_number<std::size_t>(ec);
        if (!count || !count->is_number() || ec || m.client_count > 10'000'000)
            return dropped("malformed client count");
        break;
    }
    default:
        return dropped("unknown message type");
    }
    if (m.is_response() && m.request_id.empty())
        return dropped("response without a request id");
    d.result = decoded::outcome::message;
    return d;
}

decoded decode(std::string_view payload, const std::string& nsp) {
    json::value v;
    std::vector<std::string> attachments;
    if (!payload.empty() && payload.front() == '{' && !wire_values::json_elements_within(payload))
        return dropped("message holds more JSON elements than the cap");
    if (!decode_payload(payload, v, attachments) || !v.is_object())
        return dropped("message does not parse");
    const auto& o = v.get_object();
    const auto* type = o.if_contains("type");
    const auto* uid = o.if_contains("uid");
    const auto* msg_nsp = o.if_contains("nsp");
    if (!type || !type->is_number())
        return dropped("message without a numeric type");
    if (!uid || !uid->is_string())
        return dropped("message without a uid");
    if (!msg_nsp || !msg_nsp->is_string())
        return dropped("message without a namespace");
    if (msg_nsp->get_string() != nsp)
        return {};
    boost::system::error_code ec;
    const int t = type->to_number<int>(ec);
    if (ec)
        return dropped("message without a numeric type");
    const auto* data = o.if_contains("data");
    return decode_parts(t, data ? *data : json::value(nullptr), std::move(attachments),
                        std::string(uid->get_string()));
}

} // namespace sio::cluster_wire
