// The payloads of the Admin UI protocol.
#include "payloads.hpp"

#include <boost/json/string.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include <openssl/rand.h>
#include <unistd.h>

namespace sio::admin::detail {

namespace json = boost::json;

std::string iso_date(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

json::array supported_features(bool readonly, mode m) {
    json::array out;
    if (!readonly)
        for (const char* f : {"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"})
            out.emplace_back(f);
    out.emplace_back("AGGREGATED_EVENTS");
    if (m == mode::development)
        out.emplace_back("ALL_EVENTS");
    return out;
}

json::object admin_field(std::string_view engine_id, std::string_view transport) {
    return json::object{{"clientId", engine_id.substr(0, 12)}, {"transport", transport}};
}

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

} // namespace

json::object serialize_socket(const socket_details& s, std::string_view nsp,
                              std::optional<std::string_view> transport) {
    json::value client_id = nullptr;
    json::value transport_name = nullptr;
    json::value data = s.data;
    if (auto* o = data.if_object()) {
        if (auto* a = o->if_contains("_admin"); a && a->is_object()) {
            if (auto* c = a->as_object().if_contains("clientId"))
                client_id = *c;
            if (auto* t = a->as_object().if_contains("transport"))
                transport_name = *t;
        }
        o->erase("_admin");
    }
    if (transport)
        transport_name = json::string(*transport);

    json::object headers;
    std::optional<std::string> forwarded_cf, forwarded_for;
    for (const auto& [name, value] : s.handshake.headers.fields()) {
        auto key = lower(name);
        if (key == "cf-connecting-ip" && !forwarded_cf)
            forwarded_cf = std::string(value);
        if (key == "x-forwarded-for" && !forwarded_for)
            forwarded_for = std::string(value);
        headers[key] = value;
    }
    json::object query;
    for (const auto& [k, v] : s.handshake.query)
        query[k] = v;
    const std::string address = forwarded_cf    ? *forwarded_cf
                                : forwarded_for ? *forwarded_for
                                                : s.handshake.address;

    json::array rooms;
    for (const auto& r : s.rooms)
        rooms.emplace_back(r);
    return json::object{{"id", s.id},
                        {"clientId", std::move(client_id)},
                        {"transport", std::move(transport_name)},
                        {"nsp", nsp},
                        {"data", std::move(data)},
                        {"handshake", json::object{{"address", address},
                                                   {"headers", std::move(headers)},
                                                   {"query", std::move(query)},
                                                   {"issued", s.handshake.issued},
                                                   {"secure", s.handshake.secure},
                                                   {"time", s.handshake.time},
                                                   {"url", s.handshake.url},
                                                   {"xdomain", s.handshake.xdomain}}},
                        {"rooms", std::move(rooms)}};
}

namespace {

bool valid_name(const json::value& v) {
    return v.is_string() && !v.get_string().empty() && v.get_string().size() <= max_name_size;
}

} // namespace

std::optional<std::vector<std::string>> parse_rooms(const json::value& v) {
    std::vector<std::string> out;
    if (valid_name(v)) {
        out.emplace_back(v.get_string());
        return out;
    }
    if (!v.is_array() || v.get_array().empty() || v.get_array().size() > max_room_count)
        return std::nullopt;
    for (const auto& e : v.get_array()) {
        if (!valid_name(e))
            return std::nullopt;
        out.emplace_back(e.get_string());
    }
    return out;
}

std::optional<std::vector<std::string>> parse_filter(const json::value* v) {
    if (!v || v->is_null() || (v->is_bool() && !v->get_bool()) || (v->is_string() && v->get_string().empty()))
        return std::vector<std::string>{};
    return parse_rooms(*v);
}

void aggregated_events::add(std::string_view type, std::string_view sub_type, std::uint64_t count) {
    using namespace std::chrono;
    const auto second =
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() / 1000 * 1000;
    std::lock_guard lock(mutex_);
    auto key = std::make_tuple(second, std::string(type), std::string(sub_type));
    auto it = counts_.find(key);
    if (it != counts_.end()) {
        it->second += count;
        return;
    }
    if (counts_.size() >= max_keys)
        return;
    counts_.emplace(std::move(key), count);
}

json::array aggregated_events::take() {
    decltype(counts_) taken;
    {
        std::lock_guard lock(mutex_);
        taken.swap(counts_);
    }
    json::array out;
    for (const auto& [key, count] : taken) {
        const auto& [ts, type, sub] = key;
        json::object e{{"timestamp", ts}, {"type", type}};
        if (!sub.empty())
            e["subType"] = sub;
        e["count"] = count;
        out.push_back(std::move(e));
    }
    return out;
}

void aggregated_events::forget_before(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const std::int64_t cutoff = duration_cast<milliseconds>(t.time_since_epoch()).count();
    std::lock_guard lock(mutex_);
    counts_.erase(counts_.begin(),
                  counts_.lower_bound(std::make_tuple(cutoff, std::string(), std::string())));
}

json::object server_stats(std::string_view server_id, std::string_view hostname, std::int64_t pid,
                          double uptime_seconds, std::size_t clients, std::size_t polling_clients,
                          json::array aggregated, const std::vector<namespace_count>& namespaces) {
    json::array nsps;
    for (const auto& n : namespaces)
        nsps.push_back(json::object{{"name", n.name}, {"socketsCount", n.sockets}});
    return json::object{{"serverId", server_id},
                        {"hostname", hostname},
                        {"pid", pid},
                        {"uptime", uptime_seconds},
                        {"clientsCount", clients},
                        {"pollingClientsCount", polling_clients},
                        {"aggregatedEvents", std::move(aggregated)},
                        {"namespaces", std::move(nsps)}};
}

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0)
        return "localhost";
    return buf;
}

std::string default_server_id() {
    std::array<unsigned char, 3> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        throw std::runtime_error("sio::admin: no random bytes for the server id");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = host_name() + "#" + std::to_string(static_cast<long long>(getpid())) + "-";
    for (unsigned char b : bytes) {
        out.push_back(hex[b >> 4]);
        out.push_back(hex[b & 15]);
    }
    return out;
}

std::string new_session_id() {
    std::array<unsigned char, 8> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        throw std::runtime_error("sio::admin: no random bytes for a session id");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out.push_back(hex[b >> 4]);
        out.push_back(hex[b & 15]);
    }
    return out;
}

bool is_session_id(std::string_view id) noexcept {
    return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

} // namespace sio::admin::detail
