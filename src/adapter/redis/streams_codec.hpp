// Private to the library: the wire format of the Redis streams adapter, with no I/O. It maps
// `cluster_message` to and from the message envelope of Node's socket.io-adapter `ClusterAdapter`
// (`{type, data, uid, nsp}`, types 1 to 13) as @socket.io/redis-streams-adapter 0.3.1 writes it:
// - stream entries (broadcasts without acknowledgement, joins, leaves, disconnections): the fields
//   `uid`, `nsp`, `type` (decimal text) and `data`, which is the JSON text of the message's data, or the
//   base64 of its MessagePack when it carries binary (broadcasts and the answers that may hold binary);
// - pub/sub messages (fetch, server-side events, broadcasts with acknowledgements, every response): the
//   whole envelope in MessagePack;
// - the session of a dropped socket, `<prefix><pid>`: base64 of the MessagePack map `{sid, pid, rooms,
// data}`. Also the namespace → stream mapping (Java-style string hash, as Node computes it) and the offset
// rules. The messages and their values are the cluster adapter's (cluster_wire.hpp, wire_values.hpp); this
// file holds what only this format has. Decoding never throws, whatever the bytes.
#pragma once

#include <sio/adapter/cluster.hpp>
#include <sio/recovery.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sio::streams_detail {

/// True for the messages that go over pub/sub rather than into the stream (the reference's `isEphemeral`,
/// plus every response).
bool is_ephemeral(const cluster_message& m) noexcept;

/// The fields of one stream entry.
struct entry_fields {
    std::string uid;
    std::string nsp;
    std::string type;
    std::optional<std::string> data;
};

/// The fields of the stream entry for `m` on namespace `nsp`. `plaintext`: JSON even with binary (the
/// reference's `onlyPlaintext`). False for a kind that has no message type.
bool encode_entry(const cluster_message& m, const std::string& nsp, bool plaintext, entry_fields& out);

/// The whole envelope of `m` in MessagePack (pub/sub). False for a kind that has no message type.
bool encode_envelope(const cluster_message& m, const std::string& nsp, std::string& out);

/// What a stream entry or a pub/sub payload decodes to.
struct decoded_message {
    enum class outcome {
        message, ///< `message` (of namespace `nsp`) is to be handled
        ignored, ///< well-formed but nothing to do (a heartbeat, an adapter closing)
        dropped, ///< malformed: `why` says why (for the log)
    } result = outcome::dropped;
    std::string nsp;
    cluster_message message;
    const char* why = "";
};

/// A stream entry given as its field/value pairs (as XREAD and XRANGE return them; names repeated or in
/// any order; unknown names ignored).
decoded_message decode_entry(const std::vector<std::pair<std::string_view, std::string_view>>& fields);

/// A pub/sub payload (the whole envelope in MessagePack).
decoded_message decode_envelope(std::string_view payload);

/// The value stored at `<session prefix><pid>`: base64 of MessagePack `{sid, pid, rooms, data}`.
std::string encode_session(const recovery_session& s);
/// The session of a stored value, or nothing when it does not decode (or lacks sid or pid).
std::optional<recovery_session> decode_session(std::string_view stored);

/// The stream of namespace `nsp`: `name` for one stream, else `<name>-<hashCode(nsp) % count>` as Node
/// writes it (the hash is a signed 32-bit Java-style hash of the UTF-16 units: the index may be negative).
std::string stream_for(const std::string& nsp, const std::string& name, unsigned count);
/// Node's `hashCode`: `h = h * 31 + unit` over the UTF-16 units of `text` (UTF-8 here), wrapping at 32 bits.
std::int32_t js_hash_code(std::string_view text);

/// A stream entry id `<ms>-<seq>` (the offsets the clients hold), digits only.
bool valid_offset(std::string_view offset) noexcept;
/// The id right after `offset` (`<ms>-<seq+1>`), for an exclusive XRANGE start; nothing when it overflows.
std::optional<std::string> next_offset(std::string_view offset);

/// The reference's replay filter: the broadcast reaches some room of the session (or every socket) and
/// excludes none of them.
bool reaches(const std::vector<std::string>& session_rooms, const broadcast_flags& opts);

} // namespace sio::streams_detail
