// sio — the Socket.IO packet codec of a server (its "parser", as Node calls it): how packets become
// Engine.IO messages and back. Two are built in: the JSON parser (the default, socket.io-parser's format)
// and the msgpack parser (socket.io-msgpack-parser's format); `packet_codec` is the interface for one of
// your own. See docs/parsers.md.
//
//     sio::server_options opts;
//     opts.parser = sio::protocol::msgpack_parser(); // the limits in opts.parser stay as they were
//
// Every client of a server must use the server's parser (the browser bundle `socket.io.msgpack.min.js`,
// or `parser: require("socket.io-msgpack-parser")` in Node).
#pragma once

#include <sio/config.hpp>
#include <sio/protocol/packet.hpp>
#include <sio/protocol/parser.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sio::protocol {

/// Decodes the messages of one connection into packets. One per connection, made by
/// `packet_codec::make_decoder`; called only on the connection's strand (no locking needed), never
/// concurrently.
class packet_decoder {
public:
    virtual ~packet_decoder() = default;

    /// Feeds one Engine.IO message (`binary`: a binary frame or `b` packet; otherwise UTF-8 text). On
    /// success `out` holds a complete packet, or stays empty while the decoder waits for more messages
    /// (`pending()`). A returned error closes the connection ("parse error"); the decoder is not used again.
    /// The packet must satisfy `validate_packet`; the server trusts its shape.
    virtual std::error_code on_message(std::string data, bool binary, std::optional<packet>& out) = 0;
    /// True while a packet is incomplete (the server then closes a connection whose next messages do not
    /// arrive within `server_options::attachment_timeout`).
    virtual bool pending() const noexcept = 0;
    /// Drops an incomplete packet (on disconnect).
    virtual void reset() noexcept = 0;
};

/// A packet codec. Shared by every connection of a server: `encode` and `make_decoder` are called from any
/// thread, concurrently, and must be thread-safe (a stateless codec is). Held by `std::shared_ptr`: it
/// lives as long as the server or any of its sockets.
class packet_codec {
public:
    virtual ~packet_codec() = default;

    /// A short name for logs ("json", "msgpack").
    virtual std::string_view name() const noexcept = 0;
    /// Encodes one packet into the messages that carry it: `text` (may be null: then the packet is only the
    /// binary messages) then `attachments`, each a binary message. A broadcast calls it once and sends the
    /// same buffers to every recipient. A packet's attachments are the buffers its placeholders refer to
    /// (`packet`); `packet.type` may be event or ack even when there are attachments.
    virtual encoded_packet encode(const packet& p) const = 0;
    /// A decoder for one new connection, which must enforce `limits` (and the caps of its own format).
    virtual std::unique_ptr<packet_decoder> make_decoder(const parser_limits& limits) const = 0;
};

/// The default parser: socket.io-parser's text format, binary buffers as attachments. A shared instance.
std::shared_ptr<const packet_codec> json_parser();

/// The msgpack parser, wire-compatible with `socket.io-msgpack-parser` 3.0.x: each packet is one binary
/// message holding a MessagePack map `{type, data, id, nsp}`, binary data inline (no attachments). Types
/// are 0–4 only (no BINARY_EVENT/BINARY_ACK on the wire). A shared instance.
std::shared_ptr<const packet_codec> msgpack_parser();

/// The msgpack parser's two halves, pure functions (tests, fuzzers, a codec of your own built on them).
/// `decode_msgpack` enforces `limits`: nesting of `data` (`max_depth`, as the JSON parser counts it),
/// the number of binary values (`max_attachments`) and their total bytes (`max_attachment_bytes`); every
/// length or count the input declares is checked against the bytes left before anything is allocated.
std::string encode_msgpack(const packet& p);
std::error_code decode_msgpack(std::string_view bytes, const parser_limits& limits, packet& out);

/// The server's parser choice: the limits every decoder applies, and the codec (null: `json_parser()`).
/// Assigning a codec keeps the limits: `opts.parser = sio::protocol::msgpack_parser();`.
struct parser_options : parser_limits {
    std::shared_ptr<const packet_codec> codec;

    parser_options() = default;
    parser_options(std::shared_ptr<const packet_codec> c) : codec(std::move(c)) {} // NOLINT: implicit
    parser_options& operator=(std::shared_ptr<const packet_codec> c) {
        codec = std::move(c);
        return *this;
    }
};

} // namespace sio::protocol
