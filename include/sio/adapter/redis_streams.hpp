// sio — the Redis streams adapter: servers sharing a Redis form a cluster through a Redis stream, so a
// Redis blip loses no broadcast and a client can recover its session on another server. Wire-compatible
// with Node's `@socket.io/redis-streams-adapter` 0.3.1 (docs/adapters.md).
//
//     sio::server_options options;
//     options.adapter = sio::redis_streams_adapter({.port = 6379});
//     options.connection_state_recovery = sio::connection_state_recovery_options{};
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

/// Options of the Redis streams adapter: the connection, then the reference's options and defaults.
struct redis_streams_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string username; ///< Redis 6 ACL user (with `password`)
    std::string password; ///< AUTH when set
    int db = 0;           ///< SELECT on the stream and command connections (pub/sub ignores databases)

    /// The stream (the reference's `streamName`); with `stream_count` > 1, `<stream_name>-<i>`.
    std::string stream_name = "socket.io";
    /// Streams the namespaces are spread over, by Node's hash of the namespace name (`streamCount`).
    unsigned stream_count = 1;
    /// The pub/sub channel prefix (`channelPrefix`): requests on `<prefix>#<nsp>#`, responses on
    /// `<prefix>#<nsp>#<uid>#`.
    std::string channel_prefix = "socket.io";
    /// XADD trims the stream to about this many entries (`maxLen`, `MAXLEN ~`).
    std::size_t max_len = 10000;
    /// Beyond the reference: when not 0, XADD trims by age instead of length (`MINID ~ <now -
    /// min_retention>`), so that a busy stream keeps what a recovering client needs: set it to the recovery's
    /// `max_disconnection_duration`. It replaces `max_len` (XADD takes one trim strategy): the stream's
    /// length is then bounded by time and traffic only.
    std::chrono::milliseconds min_retention{0};
    /// Beyond the reference: with connection state recovery on, trim by age (`MINID`) with at least the
    /// recovery's `max_disconnection_duration` as `min_retention`, so that an entry a client may still ask
    /// for within that time is not trimmed by length first. Off by default (Node trims by length only).
    bool retain_for_recovery = false;
    /// Entries per XREAD (`readCount`).
    std::size_t read_count = 100;
    /// How long one XREAD blocks (`blockTimeInMs`).
    std::chrono::milliseconds block_time{5000};
    /// Where a dropped socket's session is stored (`sessionKeyPrefix`): `<prefix><pid>`.
    std::string session_key_prefix = "sio:session:";
    /// JSON even for binary data (`onlyPlaintext`; binary then arrives as Node's `{type:"Buffer"}`).
    bool only_plaintext = false;
    /// Requests and responses over sharded pub/sub (`useShardedPubSub`): SSUBSCRIBE, SPUBLISH and the
    /// server count from `PUBSUB SHARDNUMSUB` (Redis 7; one Redis, as the other connections). Every server
    /// of the cluster, Node's included, must use the same setting.
    bool use_sharded_pubsub = false;
    /// How long `fetch_sockets`, `server_side_emit` with acknowledgements and the server count wait for
    /// the other servers (the reference's fixed 5 s).
    std::chrono::milliseconds requests_timeout{5000};

    std::chrono::milliseconds connect_timeout{5000};
    /// Back-off of every connection (doubling from min to max while attempts fail).
    std::chrono::milliseconds reconnect_min{100};
    std::chrono::milliseconds reconnect_max{5000};
    /// A command Redis leaves unanswered this long fails and its connection is dialled again (an XREAD
    /// gets `block_time` more). 0: no limit.
    std::chrono::milliseconds command_timeout{5000};
    /// Bytes of commands waiting to be written to Redis; beyond it, publications fail (counted, logged).
    std::size_t max_queued_bytes = 16 * 1024 * 1024;
    /// The largest reply read from Redis (at least 64 bytes); a larger one closes its connection. A stream
    /// reader whose batch exceeds it reads half as many entries and tries again; an entry that exceeds it
    /// alone is skipped (a warning names its id), since no reader could ever deliver it.
    std::size_t max_reply_bytes = 64 * 1024 * 1024;
    /// Connection state recovery: the most stream entries one restore reads after the client's offset, and
    /// the most bytes of entry fields (Node reads at most 100 unbounded XRANGEs and keeps whatever it got).
    /// A restore that would need more fails (a warning says why) and the client gets a fresh session, as
    /// when its offset is no longer in the stream. The entries are read in chunks of `read_count`.
    std::size_t max_restore_entries = 100000;
    std::size_t max_restore_bytes = 64 * 1024 * 1024;
    /// Called with true each time the pub/sub subscriptions are (re)established, false when lost (for health
    /// checks; on the connection's strand, keep it short).
    std::function<void(bool subscribed)> on_subscriber_state;
};

/// The factory for `server_options::adapter` (one factory per server). Every namespace of the server
/// shares one command connection (XADD, PUBLISH, sessions), one subscriber connection, and one reading
/// connection per stream that loops on `XREAD BLOCK` from the last entry it saw: after any error (Redis
/// restarted, unreachable, paused) it dials again with back-off and goes on from that entry, so every
/// entry that reached Redis (and was not trimmed meanwhile) is delivered once. Broadcasts without
/// acknowledgements, joins, leaves and disconnections go through the stream; fetches, server-side events
/// and broadcasts with acknowledgements through pub/sub. With connection state recovery on, the stream
/// entry id is each packet's offset and sessions are kept in Redis, so a client recovers on any server of
/// the cluster, Node's included. While Redis is unreachable, local delivery goes on. Thread-safe.
adapter_factory redis_streams_adapter(redis_streams_options options = {});

} // namespace sio
