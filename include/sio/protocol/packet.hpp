// sio — Socket.IO v5 packets (no I/O).
//
// Text form: <type>[<attachments>-][<nsp>,][<ack id>][<JSON data>], e.g. `2/chat,12["msg","hi"]`.
// A binary packet (types 5 and 6) replaces each binary buffer of its data by a placeholder
// `{"_placeholder":true,"num":N}` and is followed by N binary messages, the attachments.
//
// Every function here is pure and safe to call from any thread.
#pragma once

#include <sio/config.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sio::protocol {

enum class packet_type : std::uint8_t {
    connect = 0,
    disconnect = 1,
    event = 2,
    ack = 3,
    connect_error = 4,
    binary_event = 5,
    binary_ack = 6,
};

/// The largest ack id: 2^53 − 1, the largest integer a JavaScript number holds exactly.
inline constexpr std::uint64_t max_ack_id = (std::uint64_t{1} << 53) - 1;

/// One Socket.IO packet. For binary packets `data` holds placeholders and `attachments` the buffers,
/// in placeholder order.
struct packet {
    packet_type type = packet_type::event;
    std::string nsp = "/";
    std::optional<std::uint64_t> id;
    boost::json::value data; ///< null when the packet has no data
    std::vector<std::string> attachments;
};

/// A placeholder object for attachment `num`.
boost::json::object make_placeholder(std::size_t num);

/// True when `v` is a placeholder; `num` receives its index.
bool is_placeholder(const boost::json::value& v, std::size_t& num) noexcept;

/// A packet in wire form: the text message, then its attachments as binary messages. Shareable: a
/// broadcast encodes once and hands the same buffers to every recipient.
struct encoded_packet {
    std::shared_ptr<const std::string> text;
    std::vector<std::shared_ptr<const std::string>> attachments;
};

/// Encodes a packet. A packet with attachments is written as BINARY_EVENT/BINARY_ACK whatever its type says
/// (event → binary_event, ack → binary_ack).
encoded_packet encode(const packet& p);

/// Appends `v` as JSON text to `out`, the way JavaScript's `JSON.stringify` writes it: a number that is not
/// finite (infinity from `1e400` on the wire, or NaN set by the application) becomes `null`, so the text
/// always parses again. Boost.JSON's own serializer would write `Infinity`, which no JSON parser accepts.
void append_json(const boost::json::value& v, std::string& out);

/// Appends the text form (without attachments) of `p` to `out`.
void encode_text(const packet& p, std::string& out);

} // namespace sio::protocol
