// Private to the library: a session's WebSocket transport slot, and the interface of the transports in it.
//
// Each WebSocket transport answers the calls of the session core (strand only, `s` being the session):
//   write_queued(s)     the queue changed: write it at once, or wake the writer that will
//   close(s, graceful)  the session closed: close at once, or (graceful) after what is still to be written
//   writable()          a volatile packet may be queued: the transport can write it right now
// and reading starts with the session's run_* call for the kind. A session holds the slot by value (no
// allocation, no pointer per session); the core reaches the transport with std::visit. Polling has no
// socket of its own: the core answers for it (write_queued wakes the parked GET).
#pragma once

#include <variant>

#include "beast_websocket_transport.hpp"
#include "framed_websocket_transport.hpp"

namespace sio::engineio::detail {

class session_impl;

/// The slot while the session polls (or after its WebSocket was dropped).
struct no_websocket {
    void write_queued(session_impl& s);
    void close(session_impl&, bool) noexcept {}
    bool writable() const noexcept { return false; }
};

/// The session's WebSocket transport: none, the framed WebSocket (also while a framed socket probes for
/// an upgrade: the probe reads with its parser), or Beast's.
using websocket_transport = std::variant<no_websocket, framed_websocket, beast_websocket>;

} // namespace sio::engineio::detail
