// Private to the library: the Engine.IO rules of the upgrade from polling to a WebSocket, without I/O.
// The procedure itself is one state machine in the session (session_impl's upgrade_* steps,
// websocket_upgrade.cpp), driven by the reader of either WebSocket kind: it starts the upgrade, decides
// each message the probe reads, bounds the whole by upgrade_timeout, and ends it (failed or completed).
// A WebSocket kind only reads, writes the answer and closes the probe its own way.
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

/// What the reader of a probing WebSocket does next (session_impl::upgrade_message).
enum class upgrade_action : std::uint8_t {
    write_answer, ///< write probe_answer on the probe, then report it (session_impl::upgrade_answer_written)
    complete,     ///< call session_impl::upgrade_completed, then run the probe as the transport
    fail,         ///< the upgrade failed: call session_impl::upgrade_fail, then close the probe
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
