// sio — Engine.IO v3 packets and polling payloads (no I/O), spoken to clients that connect with `EIO=3`
// (socket.io-client 2.x) when `engine_options::allow_eio3` is on.
//
// What differs from v4 (packet.hpp):
//   - a polling text payload is a list of records `<length>:<packet>`, the length counting the packet's
//     UTF-16 code units (the JavaScript string length), not its bytes; a binary message in text form is
//     `b4` + base64 (the `b` is followed by the type digit);
//   - a client that did not ask for base64 (`b64` absent from the query) exchanges payloads holding a
//     binary message as a binary body ("application/octet-stream"): each record is a marker byte (0 for a
//     text packet, 1 for a binary one), the length as one byte per decimal digit, the byte 255, then the
//     packet (a text packet as UTF-8; a binary one as its type byte followed by the data);
//   - a binary WebSocket frame starts with the packet type byte (4).
//
// Every function here is pure, allocation-bounded by its input and safe to call from any thread.
#pragma once

#include <sio/engineio/packet.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sio::engineio::v3 {

/// The most decimal digits a record length may have (a length above 9 999 999 999 is refused before the
/// record is looked at; the total size of a payload is bounded by its HTTP body limit anyway).
inline constexpr std::size_t max_length_digits = 10;

/// Decodes one packet in v3 text form: a type digit and its data, or `b` + type digit + base64 (a binary
/// packet, marked binary whatever its type). Fails with `sio::error::parse_error` on an empty input, an
/// unknown type or invalid base64.
std::error_code decode_packet(std::string_view text, packet& out);

/// Decodes a binary v3 packet (a binary WebSocket frame, or a binary record): the type byte, then the
/// data (marked binary, whatever the type). A type byte above 6 or an empty input is a parse error.
std::error_code decode_binary_packet(std::string_view bytes, packet& out);

/// Decodes a v3 text payload (`<length>:<packet>` records, lengths in UTF-16 code units). Packets before
/// the first bad record are appended to `out` (the reference processes them too) and the error is
/// returned: an empty payload, invalid UTF-8, a length that is not 1 to max_length_digits decimal digits,
/// a length running past the payload or splitting a character, a bad packet: `sio::error::parse_error`;
/// more than `max_packets` records: `sio::error::too_many_packets`. Empty records (`0:`) are skipped.
std::error_code decode_payload(std::string_view payload, std::size_t max_packets, std::vector<packet>& out);

/// Decodes a v3 binary payload (an "application/octet-stream" POST body), with the same caps and error
/// rules as decode_payload.
std::error_code decode_binary_payload(std::string_view payload, std::size_t max_packets,
                                      std::vector<packet>& out);

/// Appends the v3 text form of a packet: type digit + data, or `b4` + base64 for a binary message.
void append_text(std::string& out, packet_type type, bool binary, std::string_view data);

/// Appends one record of a text payload: `<length>:` + the text form of the packet.
void append_payload_record(std::string& out, packet_type type, bool binary, std::string_view data);

/// Appends one record of a binary payload.
void append_binary_payload_record(std::string& out, packet_type type, bool binary, std::string_view data);

/// The number of UTF-16 code units of the well-formed UTF-8 text `utf8` (its JavaScript length).
std::size_t utf16_length(std::string_view utf8) noexcept;

/// Joins packets into a text payload (an empty list is `0:`, as the reference answers).
std::string encode_payload(const std::vector<packet>& packets);

/// Joins packets into a binary payload.
std::string encode_binary_payload(const std::vector<packet>& packets);

} // namespace sio::engineio::v3
