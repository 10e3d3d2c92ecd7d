// The chat of examples/chat and examples/cluster_chat: user names, join/leave notices, a typing indicator
// and channels (rooms). Every count and broadcast goes through the adapter, so the same code serves one
// process or a cluster.
#pragma once
#include <sio/server.hpp>

namespace chat {

/// Registers the chat's handlers on the main namespace of `io` (which must outlive its sockets).
void install(sio::server& io);

} // namespace chat
