// Private to the library: the channels of the sharded Redis adapter, as Node's createShardedAdapter
// names and picks them. Pure functions.
#pragma once

#include <sio/adapter/cluster.hpp>
#include <sio/adapter/redis_sharded.hpp>

#include <string>

namespace sio::redis_detail {

/// The namespace's channel `<prefix>#<nsp>#` (every message; responses add `<uid>#`, rooms `<room>#`).
inline std::string sharded_main_channel(const std::string& prefix, const std::string& nsp) {
    return prefix + "#" + nsp + "#";
}

/// Node's test for a socket id: 20 characters.
inline bool looks_like_a_socket_id(const std::string& room) {
    return room.size() == 20;
}

/// Where a message goes: a broadcast without acknowledgements to exactly one room goes to the room's
/// channel in the dynamic modes (in `dynamic`, unless the room looks like a socket id); everything else
/// to the namespace's channel `main`. (A broadcast with acknowledgements cannot use a room channel: the
/// count of servers that must answer is that of the namespace's channel.)
inline std::string sharded_channel_for(const cluster_message& m, const std::string& main,
                                       redis_subscription_mode mode) {
    using enum redis_subscription_mode;
    if (m.type == cluster_message::kind::broadcast && m.request_id.empty() && m.opts.rooms.size() == 1 &&
        ((mode == dynamic && !looks_like_a_socket_id(m.opts.rooms.front())) || mode == dynamic_private))
        return main + m.opts.rooms.front() + "#";
    return main;
}

} // namespace sio::redis_detail
