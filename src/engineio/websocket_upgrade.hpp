// Private to the library: the Engine.IO rules of the upgrade from polling to a WebSocket, without I/O.
// Both WebSocket kinds follow them (session_impl's upgrade_* steps, websocket_upgrade.cpp).
//
// The procedure: the client opens a WebSocket naming its polling session and sends the probe, "2probe";
// the server answers "3probe" and releases the parked GET with a noop (so the client stops polling); the
// client sends "5" (upgrade) and the WebSocket becomes the transport. Anything else, or no "5" within
// upgrade_timeout, fails the upgrade: the probe is closed and polling goes on.
#pragma once

#include <cstdint>
#include <string_view>

namespace sio::engineio::detail {

/// What the client's message on a probing WebSocket asks.
enum class probe_step : std::uint8_t {
    answer,   ///< the probe: answer probe_answer
    complete, ///< the upgrade packet: the WebSocket becomes the transport
    fail,     ///< anything else: the upgrade fails
};

inline constexpr std::string_view probe_answer = "3probe";

/// The step for a message (`text`: a text message, else binary) on a probing WebSocket.
inline probe_step probe_message(bool text, std::string_view payload) noexcept {
    if (!text)
        return probe_step::fail;
    if (payload == "2probe")
        return probe_step::answer;
    return payload == "5" ? probe_step::complete : probe_step::fail;
}

} // namespace sio::engineio::detail
