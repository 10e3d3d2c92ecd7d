// Private to the library: the messages of Node's `ClusterAdapter` (socket.io-adapter 2.5), the format
// shared by Node's sharded Redis adapter (@socket.io/redis-adapter 8.3 `createShardedAdapter`) and its
// Redis streams adapter (@socket.io/redis-streams-adapter 0.3). Every message and every response is an
// envelope `{type, data?, uid, nsp}` with a numeric `type` (below) and a `data` object whose shape
// depends on the type (docs/adapters.md lists them). No I/O, no channels: each transport decides where
// a message goes. Decoding never throws, whatever the bytes; a message that does not parse is reported
// `dropped` with the reason (for the transport's log line).
#pragma once

#include <sio/adapter/cluster.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace sio::cluster_wire {

/// The `type` of a cluster-adapter message.
namespace message_type {
enum : int {
    initial_heartbeat = 1,
    heartbeat = 2,
    broadcast = 3,
    sockets_join = 4,
    sockets_leave = 5,
    disconnect_sockets = 6,
    fetch_sockets = 7,
    fetch_sockets_response = 8,
    server_side_emit = 9,
    server_side_emit_response = 10,
    broadcast_client_count = 11,
    broadcast_ack = 12,
    adapter_close = 13,
};
} // namespace message_type

/// The numeric type of `k`; 0 for the kinds this protocol lacks (`all_rooms` and its response).
int type_of(cluster_message::kind k) noexcept;

/// True for the numeric types whose `data` may carry binary (3, 8, 9, 10, 12): Node encodes those
/// messages with msgpack when they do.
bool may_carry_binary(int type) noexcept;

/// The `data` object of `m` (binary as placeholders indexing `m.args.attachments`); false for kinds
/// this protocol lacks.
bool encode_data(const cluster_message& m, boost::json::value& data);

/// How an envelope is written.
enum class encoding {
    json,               ///< JSON text (binary would be lost: only for messages without it)
    msgpack,            ///< msgpack of the whole envelope (the streams adapter's pub/sub messages)
    json_unless_binary, ///< Node's sharded adapter: msgpack when `may_carry_binary` and there is binary
};

/// The envelope `{type, data, uid, nsp}` of `m` (its uid) for namespace `nsp`; false (nothing written) for
/// kinds this protocol lacks.
bool encode(const cluster_message& m, const std::string& nsp, encoding how, std::string& out);

/// What a message decodes to.
struct decoded {
    enum class outcome {
        message, ///< `message` is to be handed to the cluster adapter
        ignored, ///< another namespace's, or a type a server without heartbeats ignores (1, 2, 13)
        dropped, ///< malformed: `why` says why
    } result = outcome::ignored;
    cluster_message message;
    const char* why = "";
};

/// An envelope: JSON when the payload starts with `{`, msgpack otherwise (as Node decides). Messages of
/// another namespace than `nsp` are ignored.
decoded decode(std::string_view payload, const std::string& nsp);

/// A message from its parts (a streams entry carries them as separate fields): the numeric type, the
/// `data` value (null when absent; binary as placeholders indexing `attachments`), the sender's uid.
decoded decode_parts(int type, const boost::json::value& data, std::vector<std::string> attachments,
                     std::string uid);

} // namespace sio::cluster_wire
