// The chat of examples/chat and examples/cluster_chat: user names, join/leave notices, a typing indicator
// and channels (rooms). Every count and broadcast goes through the adapter, so the same code serves one
// process or a cluster.
#pragma once
#include <sio/recovery.hpp>
#include <sio/server.hpp>

#include <boost/asio/any_io_executor.hpp>

namespace chat {

/// Registers the chat's handlers on the main namespace of `io` (which must outlive its sockets).
void install(sio::server& io);

/// Connection state recovery for the chat (docs/connection-state-recovery.md): a user whose connection
/// drops is announced as gone only when the saved session expires without coming back; until then the
/// same socket, its channel and what was said meanwhile are restored on reconnection. `io` is set once
/// the server exists (the hook reads it); `ex` runs the announcement.
sio::connection_state_recovery_options recovery_options(sio::server* const& io,
                                                        boost::asio::any_io_executor ex);

} // namespace chat
