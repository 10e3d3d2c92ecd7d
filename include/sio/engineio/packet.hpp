// sio — Engine.IO v4 packets and polling payloads (no I/O).
//
// A packet is a type digit followed by its data. Over WebSocket one frame carries one packet; a binary
// frame is a `message` whose data is the raw bytes. Over HTTP long-polling a payload joins packets with the
// record separator `\x1e` and writes binary messages as `b` + base64.
//
// Every function here is pure, allocation-bounded by its input and safe to call from any thread.
#pragma once

#include <sio/config.hpp>
#include <sio/options.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sio::engineio {

enum class packet_type : std::uint8_t {
    open = 0,
    close = 1,
    ping = 2,
    pong = 3,
    message = 4,
    upgrade = 5,
    noop = 6,
};

/// One decoded packet. For a binary message `data` holds the raw bytes.
struct packet {
    packet_type type = packet_type::message;
    bool binary = false;
    std::string data;

    friend bool operator==(const packet&, const packet&) = default;
};

/// The record separator between packets of a polling payload.
inline constexpr char record_separator = '\x1e';

/// Decodes one packet in text form (a WebSocket text frame or one record of a payload).
/// `b` + base64 is a binary message. Fails with `sio::error::parse_error` on an empty input, an unknown
/// type or invalid base64.
std::error_code decode_packet(std::string_view text, packet& out);

/// Decodes a polling payload. Packets before the first bad one are appended to `out` (the reference
/// processes them too) and the error is returned. More than `max_packets` records is
/// `sio::error::too_many_packets`; invalid UTF-8 is a parse error.
std::error_code decode_payload(std::string_view payload, std::size_t max_packets, std::vector<packet>& out);

/// Appends the text form of a packet: type digit + data, or `b` + base64 for a binary message.
void append_text(std::string& out, packet_type type, bool binary, std::string_view data);

/// The text form of one packet.
std::string encode_text(const packet& p);

/// Joins packets into a polling payload.
std::string encode_payload(const std::vector<packet>& packets);

/// The handshake data sent in the open packet.
struct open_data {
    std::string sid;
    std::vector<std::string> upgrades;
    std::int64_t ping_interval_ms = 25000;
    std::int64_t ping_timeout_ms = 20000;
    std::int64_t max_payload = 1000000;
};

/// The open packet, `0{"sid":...,"upgrades":[...],"pingInterval":...,"pingTimeout":...,"maxPayload":...}`.
std::string encode_open(const open_data& data);

} // namespace sio::engineio
