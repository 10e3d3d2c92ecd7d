// A Redis Cluster's slot arithmetic, slot map and redirections (see cluster_topology.hpp). No I/O.
#include "cluster_topology.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace sio::redis_detail {

namespace {

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum Redis Cluster hashes keys with.
constexpr std::array<std::uint16_t, 256> make_crc_table() {
    std::array<std::uint16_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
        std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
        for (int b = 0; b < 8; ++b)
            crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
        t[i] = crc;
    }
    return t;
}
constexpr auto crc_table = make_crc_table();

std::uint16_t crc16(std::string_view s) noexcept {
    std::uint16_t crc = 0;
    for (const unsigned char c : s)
        crc = static_cast<std::uint16_t>((crc << 8) ^ crc_table[((crc >> 8) ^ c) & 0xff]);
    return crc;
}

constexpr std::size_t max_host_bytes = 255;

std::optional<std::int64_t> integer_of(const reply& r) {
    if (r.type == reply::kind::integer)
        return r.integer;
    return std::nullopt;
}

bool valid_port(std::int64_t p) {
    return p >= 1 && p <= 65535;
}

bool starts_with_word(std::string_view s, std::string_view word) {
    return s.size() >= word.size() && s.substr(0, word.size()) == word &&
           (s.size() == word.size() || s[word.size()] == ' ');
}

} // namespace

std::uint16_t key_slot(std::string_view key) noexcept {
    const auto open = key.find('{');
    if (open != std::string_view::npos) {
        const auto close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return static_cast<std::uint16_t>(crc16(key) & (cluster_slots - 1));
}

const cluster_node* cluster_topology::owner(std::uint16_t slot) const noexcept {
    if (slot >= owner_of_.size() || owner_of_[slot] == none)
        return nullptr;
    return &masters_[owner_of_[slot]];
}

bool cluster_topology::complete() const noexcept {
    return owner_of_.size() == cluster_slots &&
           std::none_of(owner_of_.begin(), owner_of_.end(), [](std::uint16_t o) { return o == none; });
}

std::optional<cluster_topology> cluster_topology::from_slots_reply(const reply& r,
                                                                   std::string_view asked_host) {
    if (r.type != reply::kind::array || r.elements.size() > cluster_slots)
        return std::nullopt;
    cluster_topology t;
    t.owner_of_.assign(cluster_slots, none);
    for (const auto& range : r.elements) {
        if (range.type != reply::kind::array || range.elements.size() < 3)
            return std::nullopt;
        const auto start = integer_of(range.elements[0]);
        const auto end = integer_of(range.elements[1]);
        if (!start || !end || *start < 0 || *end >= cluster_slots || *start > *end)
            return std::nullopt;
        const auto& master = range.elements[2];
        if (master.type != reply::kind::array || master.elements.size() < 2 ||
            (master.elements[0].type != reply::kind::string && master.elements[0].type != reply::kind::nil))
            return std::nullopt;
        const auto port = integer_of(master.elements[1]);
        const std::string& host = master.elements[0].str;
        if (!port || !valid_port(*port) || host.size() > max_host_bytes)
            return std::nullopt;
        // No host (empty, NULL, or `?`: a node that does not know its address): the node asked.
        const bool unknown = master.elements[0].type == reply::kind::nil || host.empty() || host == "?";
        if (unknown && asked_host.empty())
            return std::nullopt;
        cluster_node node{unknown ? std::string(asked_host) : host, static_cast<std::uint16_t>(*port)};
        auto it = std::find(t.masters_.begin(), t.masters_.end(), node);
        if (it == t.masters_.end()) {
            if (t.masters_.size() >= max_masters)
                return std::nullopt;
            t.masters_.push_back(std::move(node));
            it = t.masters_.end() - 1;
        }
        const auto index = static_cast<std::uint16_t>(it - t.masters_.begin());
        std::fill(t.owner_of_.begin() + *start, t.owner_of_.begin() + *end + 1, index);
    }
    return t;
}

std::optional<cluster_redirect> parse_redirect(std::string_view error, std::string_view asked_host) {
    cluster_redirect out;
    if (starts_with_word(error, "MOVED"))
        out.type = cluster_redirect::kind::moved;
    else if (starts_with_word(error, "ASK"))
        out.type = cluster_redirect::kind::ask;
    else
        return std::nullopt;
    auto rest = error.substr(error.find(' ') + 1);
    const auto space = rest.find(' ');
    if (space == std::string_view::npos)
        return std::nullopt;
    const auto slot_text = rest.substr(0, space);
    unsigned slot = 0;
    const auto [p, ec] = std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot);
    if (ec != std::errc{} || p != slot_text.data() + slot_text.size() || slot >= cluster_slots)
        return std::nullopt;
    out.slot = static_cast<std::uint16_t>(slot);
    const auto address = rest.substr(space + 1);
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos || colon > max_host_bytes)
        return std::nullopt;
    const auto port_text = address.substr(colon + 1);
    unsigned port = 0;
    const auto [q, pec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (pec != std::errc{} || q != port_text.data() + port_text.size() || !valid_port(port))
        return std::nullopt;
    const auto host = address.substr(0, colon);
    out.to.host = host.empty() ? std::string(asked_host) : std::string(host);
    out.to.port = static_cast<std::uint16_t>(port);
    if (out.to.host.empty())
        return std::nullopt;
    return out;
}

bool is_cluster_unavailable(std::string_view error) noexcept {
    return starts_with_word(error, "CLUSTERDOWN") || starts_with_word(error, "TRYAGAIN");
}

bool is_cluster_disabled(std::string_view error) noexcept {
    return error.find("cluster support disabled") != std::string_view::npos;
}

} // namespace sio::redis_detail
