// sio — the Redis adapter: servers sharing a Redis form a cluster, wire-compatible with Node's
// `@socket.io/redis-adapter` 8.3 (classic `createAdapter` format) and `@socket.io/redis-emitter`.
//
//     boost::asio::io_context ioc;
//     sio::server_options options;
//     options.adapter = sio::redis_adapter({.host = "127.0.0.1", .port = 6379});
//     sio::server io(ioc.get_executor(), options);
#pragma once

#include <sio/adapter/cluster.hpp>
#include <sio/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace sio {

/// Options of the Redis adapter (the reference's defaults).
struct redis_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string username; ///< Redis 6 ACL user (with `password`)
    std::string password; ///< AUTH when set
    int db = 0;           ///< SELECT for the command connection (pub/sub ignores databases)
    /// The channel prefix (the reference's `key`): `socket.io#/#`, `socket.io-request#/#`, ...
    std::string key = "socket.io";
    /// How long `fetch_sockets`, `all_rooms` and the server count wait for the other servers.
    std::chrono::milliseconds requests_timeout{5000};
    /// Send responses to `<key>-response#<nsp>#<requester uid>#` instead of the shared response channel.
    bool publish_on_specific_response_channel = false;
    std::chrono::milliseconds connect_timeout{5000};
    /// First reconnection delay; doubles up to `reconnect_max` while attempts fail. It starts again from
    /// `reconnect_min` only once Redis answered on a new connection (AUTH / SELECT / SUBSCRIBE done).
    std::chrono::milliseconds reconnect_min{100};
    std::chrono::milliseconds reconnect_max{5000};
    /// A command (a publication, the server count's PUBSUB NUMSUB) that Redis leaves unanswered this
    /// long fails, with every command behind it, and the command connection is closed and dialled again
    /// (with back-off). 0: no limit.
    std::chrono::milliseconds command_timeout{5000};
    /// The bytes of publications waiting to be written to Redis (a slow or stalled Redis). Beyond it,
    /// publications are dropped like while Redis is down: counted and logged (an adapter warning, at most
    /// one a second), and the operation's result, where it has one, is the error "redis outgoing queue
    /// full" (category "sio.redis"). 0: no limit.
    std::size_t max_queued_bytes = 16 * 1024 * 1024;
    /// Called with true each time the subscriptions are (re)established, false when the subscriber
    /// connection is lost (for health checks and logs; runs on the connection's strand, keep it short).
    std::function<void(bool subscribed)> on_subscriber_state;
};

/// The factory for `server_options::adapter` (use one factory per server). Every namespace of the server
/// shares two Redis connections (commands and publications; subscriptions), running on the server's
/// executor, opened when the first namespace is created and reopened with back-off after a
/// failure. While Redis is unreachable, local delivery goes on, publications are dropped and cluster
/// requests resolve with the connection's error; once it is back, subscriptions are restored. A Redis
/// that accepts but does not answer is treated alike after `command_timeout`, and one that does not
/// read after `max_queued_bytes` of publications. A cluster request (`fetch_sockets`, ...) takes at most
/// its timeout in all, the server count included; concurrent requests share one server count lookup.
/// Messages that do not parse are dropped. Thread-safe.
adapter_factory redis_adapter(redis_options options = {});

} // namespace sio
