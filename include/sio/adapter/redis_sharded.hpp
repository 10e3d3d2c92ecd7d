// sio — the sharded Redis adapter: servers sharing a Redis Cluster (or one standalone Redis 7) form a
// cluster over sharded pub/sub (SSUBSCRIBE / SPUBLISH), wire-compatible with Node's
// `@socket.io/redis-adapter` 8.3 `createShardedAdapter` (the cluster-adapter message format,
// docs/adapters.md).
//
//     sio::redis_sharded_options o;
//     o.connection.port = 6379;
//     o.subscription_mode = sio::redis_subscription_mode::dynamic;
//     options.adapter = sio::redis_sharded_adapter(o);
#pragma once

#include <sio/adapter/redis.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sio {

/// One node of a Redis Cluster.
struct redis_node {
    std::string host;
    std::uint16_t port = 0;
};

/// Which channels a server subscribes to (Node's `subscriptionMode`); every server of a cluster must use
/// the same one.
enum class redis_subscription_mode {
    /// `"static"`: one channel per namespace (and one for this server's responses); every server receives
    /// every broadcast.
    static_,
    /// `"dynamic"` (the default): besides, one channel per public room that has sockets on this server;
    /// a broadcast to exactly one room goes to that room's channel, except a room whose name is 20
    /// characters long (a socket id, which goes to the namespace channel).
    dynamic,
    /// `"dynamic-private"`: like `dynamic`, but socket ids get their own channels too.
    dynamic_private,
};

/// Options of the sharded Redis adapter (Node's names and defaults).
struct redis_sharded_options {
    /// Where Redis is and how to reach it: host, port, username, password, timeouts, back-off,
    /// `requests_timeout`, `max_queued_bytes`, `on_subscriber_state`. Its `key`, `db` and
    /// `publish_on_specific_response_channel` do not apply (pub/sub ignores databases).
    redis_options connection;
    /// Node's `channelPrefix`: channels are `<prefix>#<nsp>#`, `<prefix>#<nsp>#<uid>#` (responses) and
    /// `<prefix>#<nsp>#<room>#`.
    std::string channel_prefix = "socket.io";
    /// Node's `subscriptionMode`.
    redis_subscription_mode subscription_mode = redis_subscription_mode::dynamic;
    /// More nodes of a Redis Cluster to ask for the slot map when `connection.host:port` (asked first)
    /// does not answer. The nodes the slot map names are reached with `connection`'s other settings.
    std::vector<redis_node> cluster_seeds;
};

/// The factory for `server_options::adapter` (one factory per server). Every namespace of the server
/// shares the Redis connections, on the server's executor, reopened with back-off after a failure, with
/// the subscriptions restored. On a standalone Redis (it answers `CLUSTER SLOTS` with an error), two
/// connections (SPUBLISH and PUBSUB SHARDNUMSUB; SSUBSCRIBE). On a Redis Cluster, the slot map is read
/// from the seed nodes and each channel's SSUBSCRIBE and SPUBLISH go to the master serving its slot (a
/// command connection per master published to, a subscriber connection per master serving a subscribed
/// channel); `-MOVED` and `-ASK` are followed, and after a resharding or a failover (a subscription given
/// up by its node, a lost connection) the slot map is read again with back-off and the moved channels
/// subscribed on their new node. The server count is `PUBSUB SHARDNUMSUB` summed over the masters. A
/// subscription Redis refuses is logged, reported by `namespace_::adapter_ready()`, and asked again with
/// back-off. A room's channel is given up only once the room has no socket left on this server. While Redis
/// is unreachable, local delivery goes on and publications are dropped (counted and logged). `all_rooms()` is
/// this server's rooms: the format has no such request (like Node's). Messages that do not parse are dropped
/// with a log line. Thread-safe.
adapter_factory redis_sharded_adapter(redis_sharded_options options = {});

} // namespace sio
