// Private to the library: the connection settings (`redis_detail::endpoint`) of a Redis adapter's options.
// The classic, sharded and streams adapters' options spell the connection the same way.
#pragma once

#include <chrono>

#include "connection.hpp"

namespace sio::redis_detail {

/// Where and how `o` connects. `with_db`: SELECT `o.db` (a Redis Cluster has database 0 only). Options
/// that have a `max_reply_bytes` set it.
template <class Options>
endpoint endpoint_of(const Options& o, bool with_db = true) {
    endpoint ep;
    ep.host = o.host;
    ep.port = o.port;
    ep.username = o.username;
    ep.password = o.password;
    if (with_db)
        ep.db = o.db;
    ep.connect_timeout = o.connect_timeout;
    ep.reconnect_min = o.reconnect_min;
    ep.reconnect_max = o.reconnect_max;
    ep.command_timeout = o.command_timeout;
    ep.max_queued_bytes = o.max_queued_bytes;
    if constexpr (requires { o.max_reply_bytes; })
        ep.max_reply_bytes = o.max_reply_bytes;
    return ep;
}

} // namespace sio::redis_detail
