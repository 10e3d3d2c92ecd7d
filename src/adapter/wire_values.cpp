// The JSON values shared by the wire formats of the cluster adapters (see wire_values.hpp).
#include "wire_values.hpp"

#include <sio/protocol/packet.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>

#include "../protocol/msgpack.hpp"

namespace sio::wire_values {

namespace json = boost::json;

json::array string_array(const std::vector<std::string>& v) {
    json::array a;
    a.reserve(v.size());
    for (const auto& s : v)
        a.emplace_back(s);
    return a;
}

/// JSON text of a message that carries application data: non-finite numbers become null, as Node writes them.
std::string user_json(const json::value& v) {
    std::string out;
    sio::protocol::append_json(v, out);
    return out;
}

/// A room or socket id as Node may send it: a string, or a number (`io.to(123)`).
std::optional<std::string> room_name(const json::value& v) {
    if (v.is_string())
        return std::string(v.get_string());
    if (v.is_int64() || v.is_uint64() || v.is_double())
        return json::serialize(v);
    return std::nullopt;
}

bool read_rooms(const json::value* v, std::vector<std::string>& out) {
    if (!v)
        return true;
    if (!v->is_array())
        return false;
    for (const auto& r : v->get_array()) {
        auto name = room_name(r);
        if (!name)
            return false;
        out.push_back(std::move(*name));
    }
    return true;
}

json::object opts_json(const broadcast_flags& f, bool with_flags) {
    json::object o{{"rooms", string_array(f.rooms)}, {"except", string_array(f.except)}};
    if (with_flags) {
        json::object flags;
        if (f.volatile_)
            flags["volatile"] = true;
        if (!f.compress)
            flags["compress"] = false;
        if (f.timeout)
            flags["timeout"] = f.timeout->count();
        o["flags"] = std::move(flags);
    }
    return o;
}

bool read_opts(const json::value* v, broadcast_flags& f) {
    if (!v)
        return true;
    if (!v->is_object())
        return false;
    const auto& o = v->get_object();
    if (!read_rooms(o.if_contains("rooms"), f.rooms) || !read_rooms(o.if_contains("except"), f.except))
        return false;
    if (const auto* flags = o.if_contains("flags"); flags && flags->is_object()) {
        const auto& fl = flags->get_object();
        if (const auto* x = fl.if_contains("volatile"); x && x->is_bool())
            f.volatile_ = x->get_bool();
        if (const auto* x = fl.if_contains("compress"); x && x->is_bool())
            f.compress = x->get_bool();
        if (const auto* x = fl.if_contains("timeout"); x && x->is_number()) {
            boost::system::error_code ec;
            const auto ms = x->to_number<std::int64_t>(ec);
            if (!ec && ms >= 0)
                f.timeout = std::chrono::milliseconds(ms);
        }
    }
    return true;
}

json::object handshake_json(const handshake& h) {
    json::object headers;
    for (const auto& [name, value] : h.headers.fields()) {
        std::string key(name);
        std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
        headers[key] = value;
    }
    json::object query;
    for (const auto& [k, v] : h.query)
        query[k] = v;
    return json::object{{"headers", std::move(headers)},
                        {"time", h.time},
                        {"address", h.address},
                        {"xdomain", h.xdomain},
                        {"secure", h.secure},
                        {"issued", h.issued},
                        {"url", h.url},
                        {"query", std::move(query)},
                        {"auth", h.auth}};
}

handshake handshake_of(const json::object& o) {
    handshake h;
    auto str = [&](std::string_view key) -> std::string {
        const auto* v = o.if_contains(key);
        return v && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    if (const auto* v = o.if_contains("headers"); v && v->is_object())
        for (const auto& [k, val] : v->get_object())
            h.headers.add(k, val.is_string() ? std::string(val.get_string()) : json::serialize(val));
    h.time = str("time");
    h.address = str("address");
    h.url = str("url");
    if (const auto* v = o.if_contains("xdomain"); v && v->is_bool())
        h.xdomain = v->get_bool();
    if (const auto* v = o.if_contains("secure"); v && v->is_bool())
        h.secure = v->get_bool();
    if (const auto* v = o.if_contains("issued"); v && v->is_number()) {
        boost::system::error_code ec;
        h.issued = v->to_number<std::int64_t>(ec);
    }
    if (const auto* v = o.if_contains("query"); v && v->is_object())
        for (const auto& [k, val] : v->get_object())
            h.query.emplace_back(k, val.is_string() ? std::string(val.get_string()) : json::serialize(val));
    if (const auto* v = o.if_contains("auth"); v && v->is_object())
        h.auth = v->get_object();
    return h;
}

/// `[event, args...]` as a JSON array (placeholders kept).
json::array event_data(const cluster_message& m) {
    json::array data;
    data.reserve(m.args.values.size() + 1);
    data.emplace_back(m.event);
    for (const auto& v : m.args.values)
        data.push_back(v);
    return data;
}

/// Splits `[event, args...]`; false when it is not an event.
bool read_event(const json::value* v, std::vector<std::string>&& attachments, cluster_message& m) {
    if (!v || !v->is_array() || v->get_array().empty())
        return false;
    const auto& data = v->get_array();
    auto name = room_name(data.front()); // a string, or a number like the reference accepts
    if (!name)
        return false;
    m.event = std::move(*name);
    m.args.values = json::array(data.begin() + 1, data.end());
    m.args.attachments = std::move(attachments);
    return true;
}

/// The first acknowledgement argument (classic responses carry one value).
json::value first_arg(const arguments& a) {
    return a.values.empty() ? json::value(nullptr) : a.values.front();
}

bool json_elements_within(std::string_view text, std::size_t max) {
    // Each element of a non-empty container follows its opening bracket or a comma: counting the
    // brackets and commas outside strings bounds the elements from above.
    std::size_t count = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if ((c == ',' || c == '[' || c == '{') && ++count > max)
            return false;
    }
    return true;
}

/// Decodes a request or response payload: JSON when it starts with `{`, msgpack otherwise.
bool decode_payload(std::string_view payload, json::value& out, std::vector<std::string>& attachments) {
    if (!payload.empty() && payload.front() == '{') {
        if (!json_elements_within(payload))
            return false;
        boost::system::error_code ec;
        json::parse_options po;
        po.max_depth = 32;
        out = json::parse(payload, ec, {}, po);
        return !ec;
    }
    return !msgpack_detail::msgpack_decode(payload, out, attachments, redis_msgpack_limits);
}

std::string encode_msgpack(const json::value& v, const std::vector<std::string>& attachments) {
    std::string out;
    msgpack_detail::msgpack_encode(v, attachments, out);
    return out;
}

json::object socket_json(const socket_details& s) {
    return json::object{{"id", s.id},
                        {"handshake", handshake_json(s.handshake)},
                        {"rooms", string_array(s.rooms)},
                        {"data", s.data}};
}

bool read_socket(const json::value& v, socket_details& d) {
    if (!v.is_object())
        return false;
    const auto& so = v.get_object();
    const auto* sid = so.if_contains("id");
    if (!sid || !sid->is_string())
        return false;
    d.id = std::string(sid->get_string());
    if (const auto* h = so.if_contains("handshake"); h && h->is_object())
        d.handshake = handshake_of(h->get_object());
    read_rooms(so.if_contains("rooms"), d.rooms);
    if (const auto* data = so.if_contains("data"))
        d.data = *data;
    return true;
}

} // namespace sio::wire_values
