// sio — the incremental Socket.IO v5 decoder, with hard limits on everything read from the wire.
#pragma once

#include <sio/config.hpp>
#include <sio/protocol/packet.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sio::protocol {

/// Why a packet was refused. Every one closes the connection at the Socket.IO layer.
enum class parse_error {
    empty = 1,            ///< empty message
    unknown_type,         ///< type digit not 0–6
    illegal_attachments,  ///< attachment count malformed, zero, or placeholder out of range
    too_many_attachments, ///< more attachments than `max_attachments`
    invalid_namespace,    ///< namespace malformed
    invalid_ack_id,       ///< ack id not digits, or above 2^53 − 1
    invalid_json,         ///< data is not valid JSON (or too deep, or invalid UTF-8)
    invalid_payload,      ///< data has the wrong shape for the packet type
    reserved_event,       ///< event name reserved (connect, disconnect, ...)
    unexpected_binary,    ///< a binary message with no attachment pending
    unexpected_text,      ///< a text message while attachments are pending
    attachment_too_large, ///< attachments exceed `max_attachment_bytes`
    invalid_msgpack,      ///< msgpack parser: malformed, truncated or too deep MessagePack, or not a map
    text_message,         ///< msgpack parser: a text message (its packets are binary messages)
};

const std::error_category& parse_error_category() noexcept;
inline std::error_code make_error_code(parse_error e) noexcept {
    return {static_cast<int>(e), parse_error_category()};
}

/// Limits of the decoder; the defaults match the reference where it has one.
struct parser_limits {
    std::size_t max_attachments = 10;             ///< socket.io-parser's `maxAttachments`
    std::size_t max_attachment_bytes = 1'000'000; ///< total bytes of one packet's attachments
    std::size_t max_depth = 128;                  ///< JSON nesting depth
};

/// True for the event names a client may not emit: connect, connect_error, disconnect, disconnecting,
/// newListener, removeListener.
bool is_reserved_event(std::string_view name) noexcept;

/// The shape rules every decoded packet must satisfy, whatever its codec: the data fits the type (CONNECT:
/// none or an object; DISCONNECT: none; CONNECT_ERROR: an object or a string; EVENT: a non-empty array
/// whose first element is a name that is not reserved, ACK: an array), and every placeholder refers to one
/// of the packet's attachments.
std::error_code validate_packet(const packet& p);

/// Decodes one packet from its text form, validating its shape. A binary packet comes back with
/// `attachments_expected` set and no attachments.
std::error_code decode_text(std::string_view text, const parser_limits& limits, packet& out,
                            std::size_t& attachments_expected);

/// Incremental decoder: text messages, then the attachments of a binary packet. One per connection.
/// Not thread-safe (a connection's messages arrive on its strand).
class decoder {
public:
    explicit decoder(parser_limits limits = {}) : limits_(limits) {}

    /// Feeds a text message. On success `out` holds a complete packet, or stays empty while attachments
    /// are awaited. On error the decoder is reset and the connection should close.
    std::error_code on_text(std::string_view text, std::optional<packet>& out);
    /// Feeds a binary message (an attachment).
    std::error_code on_binary(std::string data, std::optional<packet>& out);

    /// True while a binary packet waits for attachments.
    bool pending() const noexcept { return partial_ != nullptr; }
    /// Drops a partial packet (on disconnect or timeout).
    void reset() noexcept;

private:
    parser_limits limits_;
    /// A binary packet waiting for its attachments, and their count so far.
    struct partial_packet {
        packet p;
        std::size_t expected = 0;
        std::size_t received_bytes = 0;
    };
    std::unique_ptr<partial_packet> partial_; // rare: on the heap (every connection holds a decoder)
};

} // namespace sio::protocol

template <>
struct std::is_error_code_enum<sio::protocol::parse_error> : std::true_type {};
