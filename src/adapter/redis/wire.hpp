// Private to the library: the wire format of the Redis adapter, with no I/O. It maps `cluster_message`
// to and from the classic format of Node's @socket.io/redis-adapter 8.3 (docs/adapters.md lists the
// channels), so that C++ and Node servers share one cluster, and reads what @socket.io/redis-emitter
// publishes:
// - broadcasts without acknowledgements go to `<key>#<nsp>#` (or `<key>#<nsp>#<room>#` for a single room)
//   as msgpack `[uid, packet, opts]`;
// - requests go to `<key>-request#<nsp>#` as an object with a numeric `type` (0 to 9, below), in JSON, or
//   in msgpack when they carry binary (Node reads both);
// - responses go to `<key>-response#<nsp>#`, or to the requester's own `<key>-response#<nsp>#<uid>#`;
// - the legacy single-socket join / leave / disconnect forms and the legacy `sockets` request are read
//   and answered as the reference answers them.
// Everything here is a pure function of its arguments: decoding never throws, whatever the bytes. (They
// are plain functions, not coroutines, on purpose: GCC 12 miscompiles braced initialisers with literals
// inside coroutines, and the JSON objects below are built that way.)
#pragma once

#include <sio/adapter/cluster.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sio::redis_detail {

/// The `type` of a request or response object of the classic adapter.
namespace request_type {
enum : int {
    sockets = 0,
    all_rooms = 1,
    remote_join = 2,
    remote_leave = 3,
    remote_disconnect = 4,
    remote_fetch = 5,
    server_side_emit = 6,
    broadcast = 7,
    broadcast_client_count = 8,
    broadcast_ack = 9,
};
} // namespace request_type

/// The channels of one namespace's adapter, for the prefix `key`, the namespace `nsp` and the server `uid`.
struct channel_names {
    channel_names(const std::string& key, const std::string& nsp, const std::string& uid);

    std::string broadcast;    ///< `<key>#<nsp>#`; a room's broadcasts add `<room>#`
    std::string request;      ///< `<key>-request#<nsp>#`
    std::string response;     ///< `<key>-response#<nsp>#`, shared by every server
    std::string own_response; ///< `<key>-response#<nsp>#<uid>#`

    /// Where the responses to `requester` go: its own channel when `specific` (the reference's
    /// `publishOnSpecificResponseChannel`), else the shared one.
    std::string response_for(const std::string& requester, bool specific) const;

    enum class kind { none, request, response, broadcast };
    /// What a message on `channel` is for this namespace (`none`: not one of its channels).
    kind classify(std::string_view channel) const;
    /// A response on `channel` is for this server: on the shared channel or on its own one.
    bool response_is_ours(std::string_view channel) const;
};

/// What follows the prefix of `channel`: `<nsp>#...` for `<key>#`, `<key>-request#` and
/// `<key>-response#`; nothing for a channel of another prefix.
std::optional<std::string_view> after_key(const std::string& key, std::string_view channel);

/// True when `rest` (from `after_key`) is on the namespace `nsp`: `<nsp>#...`.
bool on_namespace(std::string_view rest, const std::string& nsp);

/// A request or a broadcast to publish for namespace `nsp`: the channel and the payload. False for the
/// kinds that are never published this way (responses).
bool encode_request(const cluster_message& m, const channel_names& names, const std::string& nsp,
                    std::string& channel, std::string& payload);

/// A response to the server `to`: the channel (see `channel_names::response_for`; server-side event
/// answers always go to the shared channel, like the reference's) and the payload. False for kinds that
/// are not responses.
bool encode_response(const std::string& to, const cluster_message& m, const channel_names& names,
                     bool specific_channel, std::string& channel, std::string& payload);

/// The answer to a legacy `sockets` request: `{"requestId", "sockets": [ids]}`.
std::string encode_sockets_answer(const std::string& request_id, const std::vector<std::string>& ids);

/// The answer to a legacy single-socket join, leave or disconnect: `{"requestId"}`.
std::string encode_legacy_answer(const std::string& request_id);

/// What a payload decodes to.
struct decoded {
    enum class outcome {
        message,       ///< `message` is to be handled
        sockets_query, ///< a legacy `sockets` request: answer with the ids of the local sockets in
                       ///< `message.rooms` (all when empty) to `message.uid`, unless it is this server or
                       ///< `message.request_id` is empty
        ignored,       ///< not for this server, or dropped silently as the reference does
        dropped,       ///< malformed: dropped, `why` says why (for the log)
    } result = outcome::ignored;
    cluster_message message;
    /// A legacy single-socket form: answer `{requestId}` (`encode_legacy_answer`) to `message.uid` before
    /// handling the message, unless it is this server or `message.request_id` is empty.
    bool answer_legacy = false;
    const char* why = "";
};

/// A message on a broadcast channel of namespace `nsp`.
decoded decode_broadcast(std::string_view payload, const std::string& nsp);

/// A message on the request channel.
decoded decode_request(std::string_view payload);

/// A message on a response channel addressed to this server (`channel_names::response_is_ours`).
decoded decode_response(std::string_view payload);

} // namespace sio::redis_detail
