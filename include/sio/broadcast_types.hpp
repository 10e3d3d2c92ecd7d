// sio — the values that the broadcast operators and the adapters exchange: which sockets an operation
// selects (`broadcast_flags`) and what an operation over the servers of a cluster returns.
#pragma once

#include <sio/config.hpp>
#include <sio/socket.hpp>
#include <sio/value.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace sio {

/// Which sockets an operation selects, and how a broadcast is sent. Immutable in the operators: each one
/// returns a new value.
struct broadcast_flags {
    std::vector<std::string> rooms;  ///< sockets in any of these rooms; empty: every socket
    std::vector<std::string> except; ///< sockets in any of these rooms are skipped
    bool local = false;              ///< this server only
    bool volatile_ = false;          ///< may be dropped when the transport is busy
    bool compress = true;
    std::optional<std::chrono::milliseconds> timeout; ///< for acknowledgements
};

/// The answers of a broadcast with acknowledgements.
struct broadcast_ack_result {
    std::error_code error;            ///< `sio::error::ack_timeout` when some client did not answer in time
    std::vector<arguments> responses; ///< one per client that answered, in arrival order
};

/// A socket as every server of a cluster describes it (what `fetch_sockets` returns from other servers).
struct socket_details {
    std::string id;
    sio::handshake handshake;
    std::vector<std::string> rooms; ///< includes the socket's own id
    boost::json::value data;
};

/// How a request to the other servers went. `error` is `sio::error::cluster_timeout` when some server did
/// not answer within the adapter's request timeout; what the others answered is still there.
struct cluster_status {
    std::error_code error;
    std::size_t expected = 0;        ///< other servers asked
    std::size_t answered = 0;        ///< other servers that answered in time
    std::vector<std::string> silent; ///< ids of the servers that did not answer, when the adapter knows them
};

/// `adapter::fetch_sockets`: this server's sockets as handles, the other servers' as details.
struct fetched_sockets : cluster_status {
    std::vector<socket> local;
    std::vector<socket_details> remote;
};

/// `adapter::server_side_emit_with_ack`: one acknowledgement per other server, in arrival order.
struct server_side_responses : cluster_status {
    /// One entry per server that answered, in arrival order. Read the answer with `get<T>(0)`: the Redis
    /// adapter, like the reference's adapters, carries only the first argument of a server's `ev.ack(...)`,
    /// so an entry holds that one value (a transport of your own may carry them all). An entry is
    /// `arguments`, not a bare JSON value, so that a binary answer keeps its attachment.
    std::vector<arguments> responses;
};

/// `adapter::all_rooms`: the rooms of every server (socket-id rooms included), without duplicates.
struct room_list : cluster_status {
    std::vector<std::string> rooms;
};

} // namespace sio
