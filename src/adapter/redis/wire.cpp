// The wire format of the Redis adapter (see wire.hpp): cluster messages to and from JSON and msgpack
// payloads in the classic format of Node's @socket.io/redis-adapter.
#include "wire.hpp"

#include <sio/protocol/packet.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>

#include "../../protocol/msgpack.hpp"
#include "../wire_values.hpp"

namespace sio::redis_detail {

namespace json = boost::json;
using kind = cluster_message::kind;
namespace request = request_type;

using namespace wire_values;

// --- channels --------------------------------------------------------------------------------------------

channel_names::channel_names(const std::string& key, const std::string& nsp, const std::string& uid)
    : broadcast(key + "#" + nsp + "#"), request(key + "-request#" + nsp + "#"),
      response(key + "-response#" + nsp + "#"), own_response(response + uid + "#") {}

std::string channel_names::response_for(const std::string& requester, bool specific) const {
    return specific ? response + requester + "#" : response;
}

channel_names::kind channel_names::classify(std::string_view channel) const {
    if (channel.starts_with(request) && channel.size() == request.size())
        return kind::request;
    if (channel.starts_with(response))
        return kind::response;
    if (channel.starts_with(broadcast))
        return kind::broadcast;
    return kind::none;
}

bool channel_names::response_is_ours(std::string_view channel) const {
    return channel.size() == response.size() || channel == own_response;
}

std::optional<std::string_view> after_key(const std::string& key, std::string_view channel) {
    if (channel.starts_with(key + "-request#"))
        return channel.substr(key.size() + 9);
    if (channel.starts_with(key + "-response#"))
        return channel.substr(key.size() + 10);
    if (channel.starts_with(key + "#"))
        return channel.substr(key.size() + 1);
    return std::nullopt;
}

bool on_namespace(std::string_view rest, const std::string& nsp) {
    return rest.starts_with(nsp) && rest.size() > nsp.size() && rest[nsp.size()] == '#';
}

// --- encoding --------------------------------------------------------------------------------------------

bool encode_response(const std::string& to, const cluster_message& m, const channel_names& names,
                     bool specific_channel, std::string& channel, std::string& payload) {
    channel = names.response_for(to, specific_channel);
    switch (m.type) {
    case kind::fetch_sockets_response: {
        json::array sockets;
        for (const auto& s : m.sockets)
            sockets.push_back(json::object{{"id", s.id},
                                           {"handshake", handshake_json(s.handshake)},
                                           {"rooms", string_array(s.rooms)},
                                           {"data", s.data}});
        payload = json::serialize(json::object{{"requestId", m.request_id}, {"sockets", std::move(sockets)}});
        break;
    }
    case kind::all_rooms_response:
        payload =
            json::serialize(json::object{{"requestId", m.request_id}, {"rooms", string_array(m.rooms)}});
        break;
    case kind::server_side_emit_response:
        // Always on the shared channel, like the reference.
        channel = names.response;
        {
            json::object o{{"type", int(request::server_side_emit)},
                           {"requestId", m.request_id},
                           {"data", first_arg(m.args)}};
            // JSON like the reference, unless there is binary (msgpack keeps it; Node reads both).
            payload = m.args.attachments.empty() ? user_json(o) : encode_msgpack(o, m.args.attachments);
        }
        break;
    case kind::broadcast_client_count:
        payload = json::serialize(json::object{{"type", int(request::broadcast_client_count)},
                                               {"requestId", m.request_id},
                                               {"clientCount", m.client_count}});
        break;
    case kind::broadcast_ack:
        payload = encode_msgpack(json::object{{"type", int(request::broadcast_ack)},
                                              {"requestId", m.request_id},
                                              {"packet", first_arg(m.args)}},
                                 m.args.attachments);
        break;
    default:
        return false;
    }
    return true;
}

bool encode_request(const cluster_message& m, const channel_names& names, const std::string& nsp,
                    std::string& channel, std::string& payload) {
    channel = names.request;
    switch (m.type) {
    case kind::broadcast: {
        json::object packet{{"type", 2}, {"data", event_data(m)}, {"nsp", nsp}};
        if (m.request_id.empty()) {
            if (m.opts.rooms.size() == 1)
                channel = names.broadcast + m.opts.rooms.front() + "#";
            else
                channel = names.broadcast;
            payload =
                encode_msgpack(json::array{json::value(m.uid), std::move(packet), opts_json(m.opts, true)},
                               m.args.attachments);
        } else {
            payload = encode_msgpack(json::object{{"uid", m.uid},
                                                  {"requestId", m.request_id},
                                                  {"type", int(request::broadcast)},
                                                  {"packet", std::move(packet)},
                                                  {"opts", opts_json(m.opts, true)}},
                                     m.args.attachments);
        }
        return true;
    }
    case kind::sockets_join:
    case kind::sockets_leave:
        payload = json::serialize(json::object{
            {"uid", m.uid},
            {"type", int(m.type == kind::sockets_join ? request::remote_join : request::remote_leave)},
            {"opts", opts_json(m.opts, false)},
            {"rooms", string_array(m.rooms)}});
        return true;
    case kind::disconnect_sockets:
        payload = json::serialize(json::object{{"uid", m.uid},
                                               {"type", int(request::remote_disconnect)},
                                               {"opts", opts_json(m.opts, false)},
                                               {"close", m.close}});
        return true;
    case kind::fetch_sockets:
        payload = json::serialize(json::object{{"uid", m.uid},
                                               {"requestId", m.request_id},
                                               {"type", int(request::remote_fetch)},
                                               {"opts", opts_json(m.opts, false)}});
        return true;
    case kind::all_rooms:
        payload = json::serialize(
            json::object{{"uid", m.uid}, {"requestId", m.request_id}, {"type", int(request::all_rooms)}});
        return true;
    case kind::server_side_emit: {
        json::object o{{"uid", m.uid}, {"type", int(request::server_side_emit)}, {"data", event_data(m)}};
        if (!m.request_id.empty())
            o["requestId"] = m.request_id;
        // JSON like the reference, unless there is binary (msgpack keeps it; Node reads both).
        payload = m.args.attachments.empty() ? user_json(o) : encode_msgpack(o, m.args.attachments);
        return true;
    }
    default:
        return false;
    }
}

std::string encode_sockets_answer(const std::string& request_id, const std::vector<std::string>& ids) {
    return json::serialize(json::object{{"requestId", request_id}, {"sockets", string_array(ids)}});
}

std::string encode_legacy_answer(const std::string& request_id) {
    return json::serialize(json::object{{"requestId", request_id}});
}

// --- decoding --------------------------------------------------------------------------------------------

namespace {

decoded dropped(const char* why) {
    decoded d;
    d.result = decoded::outcome::dropped;
    d.why = why;
    return d;
}

decoded message(cluster_message&& m) {
    decoded d;
    d.result = decoded::outcome::message;
    d.message = std::move(m);
    return d;
}

} // namespace

decoded decode_broadcast(std::string_view payload, const std::string& nsp_name) {
    json::value v;
    std::vector<std::string> attachments;
    if (msgpack_detail::msgpack_decode(payload, v, attachments, wire_values::redis_msgpack_limits) ||
        !v.is_array() || v.get_array().size() < 2)
        return dropped("not a broadcast message");
    const auto& a = v.get_array();
    cluster_message m;
    m.type = kind::broadcast;
    if (a[0].is_string())
        m.uid = std::string(a[0].get_string());
    if (m.uid.empty())
        m.uid = "emitter";
    if (!a[1].is_object())
        return dropped("packet is not an object");
    const auto& packet = a[1].get_object();
    // Like the reference: a packet without `nsp` is for "/", and another namespace's is dropped.
    const auto* nsp = packet.if_contains("nsp");
    if (nsp ? (!nsp->is_string() || nsp->get_string() != nsp_name) : nsp_name != "/")
        return {};
    if (!read_event(packet.if_contains("data"), std::move(attachments), m) ||
        !read_opts(a.size() > 2 ? &a[2] : nullptr, m.opts))
        return dropped("malformed packet or options");
    return message(std::move(m));
}

decoded decode_request(std::string_view payload) {
    json::value v;
    std::vector<std::string> attachments;
    if (!decode_payload(payload, v, attachments) || !v.is_object())
        return dropped("request does not parse");
    const auto& o = v.get_object();
    const auto* type = o.if_contains("type");
    if (!type || !type->is_number())
        return dropped("request without a type");
    boost::system::error_code ec;
    const auto t = type->to_number<int>(ec);
    cluster_message m;
    if (const auto* uid = o.if_contains("uid"); uid && uid->is_string())
        m.uid = std::string(uid->get_string());
    if (m.uid.empty())
        m.uid = "emitter"; // @socket.io/redis-emitter sends joins, leaves and disconnects without one
    if (const auto* id = o.if_contains("requestId"); id && id->is_string())
        m.request_id = std::string(id->get_string());
    if (ec || !read_opts(o.if_contains("opts"), m.opts))
        return dropped("malformed request");
    bool answer_legacy = false;
    switch (t) {
    case request::sockets: { // legacy, still answered by the reference
        decoded d;
        d.result = decoded::outcome::sockets_query;
        read_rooms(o.if_contains("rooms"), m.rooms);
        d.message = std::move(m);
        return d;
    }
    case request::all_rooms:
        m.type = kind::all_rooms;
        break;
    case request::remote_join:
    case request::remote_leave:
        if (const auto* sid = o.if_contains("sid"); sid && sid->is_string()) { // legacy single-socket form
            const auto* room = o.if_contains("room");
            if (!room || !room->is_string())
                return {};
            m.opts.rooms = {std::string(sid->get_string())};
            m.rooms = {std::string(room->get_string())};
            answer_legacy = true;
        } else if (!read_rooms(o.if_contains("rooms"), m.rooms)) {
            return dropped("malformed rooms");
        }
        m.type = t == request::remote_join ? kind::sockets_join : kind::sockets_leave;
        break;
    case request::remote_disconnect:
        if (const auto* sid = o.if_contains("sid"); sid && sid->is_string()) {
            m.opts.rooms = {std::string(sid->get_string())};
            answer_legacy = true;
        }
        if (const auto* close = o.if_contains("close"); close && close->is_bool())
            m.close = close->get_bool();
        m.type = kind::disconnect_sockets;
        break;
    case request::remote_fetch:
        m.type = kind::fetch_sockets;
        break;
    case request::server_side_emit:
        m.type = kind::server_side_emit;
        if (!read_event(o.if_contains("data"), std::move(attachments), m))
            return dropped("malformed server-side event");
        break;
    case request::broadcast: {
        m.type = kind::broadcast;
        const auto* packet = o.if_contains("packet");
        if (!packet || !packet->is_object() || m.request_id.empty() ||
            !read_event(packet->get_object().if_contains("data"), std::move(attachments), m))
            return dropped("malformed broadcast request");
        break;
    }
    default:
        return dropped("unknown request type");
    }
    auto d = message(std::move(m));
    d.answer_legacy = answer_legacy;
    return d;
}

decoded decode_response(std::string_view payload) {
    json::value v;
    std::vector<std::string> attachments;
    if (!decode_payload(payload, v, attachments) || !v.is_object())
        return dropped("response does not parse");
    const auto& o = v.get_object();
    cluster_message m;
    const auto* id = o.if_contains("requestId");
    if (!id || !id->is_string())
        return {};
    m.request_id = std::string(id->get_string());
    const auto* type = o.if_contains("type");
    boost::system::error_code ec;
    const int t = type && type->is_number() ? type->to_number<int>(ec) : -1;
    if (t == request::server_side_emit || t == request::broadcast_ack) {
        m.type = t == request::server_side_emit ? kind::server_side_emit_response : kind::broadcast_ack;
        const auto* value = o.if_contains(t == request::server_side_emit ? "data" : "packet");
        m.args.values.push_back(value ? *value : json::value(nullptr));
        m.args.attachments = std::move(attachments);
    } else if (t == request::broadcast_client_count) {
        m.type = kind::broadcast_client_count;
        const auto* count = o.if_contains("clientCount");
        if (!count || !count->is_number())
            return {};
        m.client_count = count->to_number<std::size_t>(ec);
        if (ec || m.client_count > 10'000'000)
            return {};
    } else if (const auto* socks = o.if_contains("sockets"); socks && socks->is_array()) {
        m.type = kind::fetch_sockets_response;
        for (const auto& s : socks->get_array()) {
            if (!s.is_object())
                return {};
            const auto& so = s.get_object();
            socket_details d;
            const auto* sid = so.if_contains("id");
            if (!sid || !sid->is_string())
                continue; // a legacy SOCKETS answer (ids only) is not ours
            d.id = std::string(sid->get_string());
            if (const auto* h = so.if_contains("handshake"); h && h->is_object())
                d.handshake = handshake_of(h->get_object());
            read_rooms(so.if_contains("rooms"), d.rooms);
            if (const auto* data = so.if_contains("data"))
                d.data = *data;
            m.sockets.push_back(std::move(d));
        }
    } else if (const auto* rooms = o.if_contains("rooms"); rooms && rooms->is_array()) {
        m.type = kind::all_rooms_response;
        read_rooms(rooms, m.rooms);
    } else {
        return {};
    }
    return message(std::move(m));
}

} // namespace sio::redis_detail
