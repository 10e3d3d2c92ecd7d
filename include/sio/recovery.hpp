// sio — connection state recovery: the options, and the session record that adapters keep for a socket
// whose connection dropped. See docs/connection-state-recovery.md.
#pragma once

#include <sio/config.hpp>
#include <sio/protocol/packet.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sio {

/// What a socket leaves behind when its connection drops for a recoverable reason (transport close or
/// error, ping timeout, forced close, server shutdown): enough to give a returning client the same socket.
struct recovery_session {
    std::string sid;                ///< the socket id, given back on recovery
    std::string pid;                ///< the private id: the secret the client presents to recover
    std::vector<std::string> rooms; ///< every room, the socket's own id included
    boost::json::value data;        ///< a copy of `socket.data()` at disconnection
};

/// A session handed back by `adapter::restore_session`: the record, and the packets the client missed, in
/// the order they were sent, each ending with its own offset.
struct restored_session {
    recovery_session session;
    std::vector<protocol::encoded_packet> missed;
    /// The adapter's own marks, for `adapter::add_recovered_socket` (the library does not read them): the
    /// memory adapter's next sequence when `missed` was read, and which save of the session it read.
    std::uint64_t replayed_until = 0;
    std::uint64_t generation = 0;
};

/// `server_options::connection_state_recovery`: set it (even to `{}`) to turn recovery on.
struct connection_state_recovery_options {
    /// How long a dropped socket's session is kept (the reference's `maxDisconnectionDuration`).
    std::chrono::milliseconds max_disconnection_duration{120000};
    /// A recovered socket skips the namespace middlewares (the reference's `skipMiddlewares`).
    bool skip_middlewares = true;
    /// The replay buffer's bounds, per namespace: the oldest packets go first when either is reached. A
    /// client that needs a dropped packet is not recovered (it gets a fresh socket, never a partial
    /// replay). The reference keeps every packet for `max_disconnection_duration`, whatever the volume.
    std::size_t max_buffered_packets = 10000;
    std::size_t max_buffered_bytes = 16 * 1024 * 1024; ///< encoded text and attachments
    /// A client that comes back with its pid but without an offset (it received no event before the drop)
    /// still gets its id, rooms and data, and the packets sent while it was away. `false`: the
    /// reference's behaviour (a fresh socket).
    bool recover_without_offset = true;
    /// A client that comes back while its old connection is still open on the server (the drop not yet
    /// noticed: its ping timeout still runs) takes the socket over: the old socket disconnects with
    /// "transport close" (its session is saved), its connection is closed, and the session goes to the
    /// new connection. `false`: a fresh socket, like the reference.
    bool takeover = true;
    /// Called when a saved session expires without being recovered (any thread; no lock held), with the
    /// namespace name and the session: release what the application kept for that socket. Must not throw.
    std::function<void(const std::string& nsp, const recovery_session& session)> on_session_expired;
};

} // namespace sio
