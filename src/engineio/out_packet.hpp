// Private to the library: a packet in a session's outgoing queue.
#pragma once

#include <sio/engineio/packet.hpp>
#include <sio/engineio/session.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace sio::engineio::detail {

/// A packet waiting in a session's outgoing queue. `data` is shared between the recipients of a broadcast.
struct out_packet {
    packet_type type = packet_type::message;
    bool binary = false;
    bool compress = true;
    shared_payload data; // null for packets without data
    std::size_t size() const noexcept { return data ? data->size() : 0; }
    std::string_view view() const noexcept { return data ? std::string_view(*data) : std::string_view{}; }
};

/// A packet the session itself sends (open, ping, noop, close).
inline out_packet control_packet(packet_type type, std::string_view data = {}) {
    out_packet p{type, false, true, nullptr};
    if (!data.empty())
        p.data = std::make_shared<const std::string>(data);
    return p;
}

/// The single-character text form of each packet type, for gathered WebSocket writes.
inline constexpr std::array<char, 7> packet_type_chars{'0', '1', '2', '3', '4', '5', '6'};

/// `type`'s character, as a one-byte view (into packet_type_chars).
inline std::string_view packet_type_char(packet_type type) noexcept {
    return {&packet_type_chars[static_cast<std::size_t>(type)], 1};
}

} // namespace sio::engineio::detail
