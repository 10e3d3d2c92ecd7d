// Private to the library: the admission step of connection state recovery for the streams adapter, with no
// I/O. A restore reads the stream after the client's offset (XRANGE) some time before the socket is added
// to its rooms; meanwhile this server keeps delivering entries, from its stream reader (the other servers'
// entries, in stream order) and from its own XADD replies (its own kept broadcasts, in the order of their
// ids). At admission, an entry is given to the socket exactly once:
// - read by the restore and already delivered here: it stays in the replay;
// - read by the restore but not delivered here yet: it stays in the replay, and the socket is left out of
//   its delivery when it arrives (`delivered` names the sockets to leave out);
// - delivered here after what the restore read, before the admission: added to the replay from what this
//   window recorded while the restore was pending.
// The replay is in stream-id order, so a recovered client's offset never moves backwards within it, nor on
// the entries it read that arrive afterwards. Own entries written before the XADD (volatile broadcasts are
// delivered here first) count as delivered. Each restore has its own token: restores of one pid that
// overlap (a client retrying) do not disturb each other.
// Thread-compatible: the adapter holds its admission lock around every call (and never runs application
// code under it).
#pragma once

#include <sio/protocol/packet.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sio::streams_detail {

/// A stream entry id as numbers, ordered as Redis orders them.
struct entry_id {
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;
    friend auto operator<=>(const entry_id&, const entry_id&) = default;
    /// `<ms>-<seq>`; nothing when it is not a valid id.
    static std::optional<entry_id> parse(std::string_view text);
};

/// Who delivers an entry to this server's sockets.
enum class entry_source {
    reader,      ///< another server's entry: this server's stream reader, in stream order
    own_reply,   ///< this server's kept broadcast: delivered when its XADD is answered
    own_earlier, ///< this server's other broadcasts (volatile): delivered before the XADD was sent
};

/// Whether a restore reads a chunk of the stream again after that read failed with the connection (not
/// with its own reply too large, not closed): up to `max_retries` times; answers that only say other
/// commands were in the way (the connection in its back-off after another restore's reply too large closed
/// it, or a command aborted behind that reply) use up no retry during the first `contention_limit`, so
/// that a storm of restores does not fail them all.
class restore_retries {
public:
    using clock = std::chrono::steady_clock;
    restore_retries(int max_retries, clock::duration contention_limit, clock::time_point now)
        : left_(max_retries), contention_until_(now + contention_limit) {}
    bool again(std::error_code ec, clock::time_point now);

private:
    int left_;
    clock::time_point contention_until_;
};

class admission_window {
public:
    using clock = std::chrono::steady_clock;

    /// `max_entries` / `max_bytes`: what may be recorded while restores are pending (beyond it, every
    /// pending restore fails at admission); `max_wait`: how long a restore may wait for its admission.
    admission_window(std::size_t max_entries, std::size_t max_bytes, std::chrono::milliseconds max_wait)
        : max_entries_(max_entries), max_bytes_(max_bytes), max_wait_(max_wait) {}

    /// A restore starts: from now on, delivered entries are recorded. `reader_floor`: where this server's
    /// stream reader is (every entry up to it was handed over, or came before the reader started); nothing
    /// while the reader does not know where it starts. Returns the restore's token (never 0).
    std::uint64_t begin(std::optional<entry_id> reader_floor, clock::time_point now);
    /// The restore `token` read the stream up to `until` (its last entry then; the offset when it read
    /// none); `replayed` are the ids and sources of the entries of its replay, in stream order.
    void read(std::uint64_t token, entry_id until, std::vector<std::pair<entry_id, entry_source>> replayed);
    /// The restore `token` gave nothing: it will not be admitted.
    void abandon(std::uint64_t token);

    /// Whether `delivered` wants the packet (some restore is pending).
    bool recording() const noexcept { return !pending_.empty(); }
    /// Entry `id` of `source` is being delivered to this server's sockets; returns the ids of the admitted
    /// sockets that got it in their replay already (to leave out of this delivery). With `recording()`,
    /// `record` then takes the entry as a replay holds it (offset appended) and its broadcast's `rooms` /
    /// `except`.
    std::vector<std::string> delivered(entry_id id, entry_source source);
    void record(entry_id id, std::vector<std::string> rooms, std::vector<std::string> except,
                protocol::encoded_packet packet);

    /// The admission of restore `token`'s socket `sid`, in rooms `session_rooms`: `missed` (the replay, in
    /// the order of `read`'s list) gains what was delivered after the restore's read, in stream-id order;
    /// what it holds and was not delivered here yet will leave `sid` out when it is. False when the socket
    /// cannot be admitted whole (no pending restore: expired or unknown; the record overflowed; too many
    /// entries left to deliver).
    bool admit(std::uint64_t token, const std::string& sid, const std::vector<std::string>& session_rooms,
               std::vector<protocol::encoded_packet>& missed, clock::time_point now);
    /// Undoes the last successful `admit`, of socket `sid`, when that socket was not added after all (its
    /// replay not written): the entries it left `sid` out of are no longer awaited for it. Call it before
    /// any other call (under the same lock hold as that `admit`); nothing happens otherwise.
    void unadmit(const std::string& sid);

    std::size_t pending() const noexcept { return pending_.size(); }
    std::size_t recorded() const noexcept { return recorded_.size(); }
    /// Entries still to be delivered here that some admitted socket got in its replay.
    std::size_t awaited() const noexcept { return awaited_count_; }

private:
    struct restore {
        clock::time_point started;
        std::uint64_t first_record = 0; // the first recorded entry it needs
        bool read = false;
        bool overflowed = false;
        std::optional<entry_id> reader_floor;
        entry_id until;
        std::vector<std::pair<entry_id, entry_source>> replayed;
    };
    struct recorded_entry {
        std::uint64_t number;
        entry_id id;
        std::vector<std::string> rooms;
        std::vector<std::string> except;
        protocol::encoded_packet packet;
        std::size_t bytes;
    };
    struct awaited_entry {
        clock::time_point admitted;
        std::vector<std::string> sids;
    };
    void expire(clock::time_point now);
    void prune();

    const std::size_t max_entries_;
    const std::size_t max_bytes_;
    const std::chrono::milliseconds max_wait_;
    std::map<std::uint64_t, restore> pending_; // by token
    std::uint64_t next_token_ = 1;
    std::map<entry_id, awaited_entry> awaited_; // replayed entries not delivered here yet
    std::size_t awaited_count_ = 0;             // the sids in awaited_
    std::vector<recorded_entry> recorded_;
    std::uint64_t next_record_ = 0;
    std::size_t recorded_bytes_ = 0;
    std::optional<entry_id> last_reader_; // the last entry the reader delivered
    std::optional<entry_id> last_reply_;  // the last own entry delivered on its XADD reply
    // The last successful admit: its socket and the entries it awaits (for unadmit).
    std::string last_admitted_;
    std::vector<entry_id> last_awaited_;
};

} // namespace sio::streams_detail
