// The load generator's WebSocket client: raw Engine.IO v4 / Socket.IO v5 frames over a Beast stream, text
// or, with `--parser msgpack`, Socket.IO packets as socket.io-msgpack-parser's binary messages.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <string>
#include <string_view>

#include "session.hpp"

namespace loadgen {

namespace ws = boost::beast::websocket;

/// `--parser msgpack`: set once, before the run. The scenarios build and check the JSON parser's text form
/// either way; the conversion is on the wire only.
extern bool msgpack_wire;

/// An Engine.IO message as written: text as is, or a Socket.IO packet (`4...`) as a binary msgpack message.
struct wire_message {
    std::string bytes;
    bool binary = false;
};

/// The message in `b` as read, without conversion.
std::string_view text_of(const boost::beast::flat_buffer& b);

/// On a connected socket: WebSocket upgrade, Engine.IO open, Socket.IO CONNECT to `nsp` and its answer.
awaitable<void> upgrade_and_connect(ws::stream<tcp::socket>& ws, boost::beast::flat_buffer& buf,
                                    const std::string& host, std::string_view nsp = "/");

struct ws_client final : client {
    ws::stream<tcp::socket> ws;
    boost::beast::flat_buffer buf;
    std::deque<wire_message> outq;
    bool writing = false;
    std::string scratch; // a binary message's text form

    explicit ws_client(run_state& s);
    void send(std::string m) override; // at most one async_write outstanding
    awaitable<void> handshake() override;
    void start_reading() override;
    void close() override;

private:
    void write_next();
};

} // namespace loadgen
