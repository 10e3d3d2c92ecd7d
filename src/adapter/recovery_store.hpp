// Private to the library: the replay buffer and the saved sessions of one namespace, for connection state
// recovery (docs/connection-state-recovery.md). No I/O and no clock of its own: every call takes `now`, so
// tests drive it with plain time points. Not synchronised: its owner (the memory adapter) locks.
#pragma once

#include <sio/broadcast_types.hpp>
#include <sio/protocol/codec.hpp>
#include <sio/protocol/packet.hpp>
#include <sio/recovery.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sio::detail {

class recovery_store {
public:
    using clock = std::chrono::steady_clock;

    explicit recovery_store(connection_state_recovery_options options);

    const connection_state_recovery_options& options() const noexcept { return options_; }

    /// Whether a broadcast packet is kept: an EVENT without ack id, not volatile (the reference's rule).
    static bool keeps(const protocol::packet& p, const broadcast_flags& flags) noexcept;

    /// Gives `p` the next offset (appended as its last argument), encodes it once and keeps the encoding
    /// with `flags`' rooms and except; drops the oldest packets beyond the bounds or older than
    /// `max_disconnection_duration`. Returns the encoding, for the live recipients.
    /// `codec` is the server's (null: the JSON parser).
    protocol::encoded_packet store(protocol::packet& p, const broadcast_flags& flags, clock::time_point now,
                                   const protocol::packet_codec* codec = nullptr);

    /// The sequence number the next stored packet gets (a socket that connects now is owed nothing before).
    std::uint64_t next_sequence() const noexcept { return next_seq_; }

    /// Saves a session; `first_seq` is the `next_sequence()` of when the socket joined (nothing sent before
    /// can be owed to it). A session with the same pid is replaced.
    void persist(recovery_session session, std::uint64_t first_seq, clock::time_point now);

    /// Why a restore failed (for the debug log and the tests).
    enum class failure { none, bad_pid, unknown_pid, bad_offset, no_offset, packets_dropped };

    /// The session of `pid` and the packets it missed after `offset` (without offset: those stored since it
    /// was saved, when `recover_without_offset`). The session stays saved (a connection that fails before
    /// `admit` leaves it for a later attempt); `replayed_until` and `generation` mark what was read.
    /// `why` gets the failure.
    std::optional<restored_session> restore(std::string_view pid, const std::optional<std::string>& offset,
                                            clock::time_point now, failure* why = nullptr);

    /// Completes a restore when the socket joins: appends to `r.missed` what was stored for it since
    /// `restore`, and forgets the session. False (nothing changed) when the session is gone, expired or was
    /// saved again since, or when a packet stored since `restore` was dropped (no partial replay).
    bool admit(restored_session& r, clock::time_point now);
    /// `admit` in two steps, for a caller that may still fail to write the replay: `complete` appends what
    /// was stored since `restore` (false, nothing changed, as for `admit`) and keeps the session; `consume`
    /// then forgets it (nothing when it was saved again or is gone).
    bool complete(restored_session& r, clock::time_point now);
    void consume(const restored_session& r);

    /// Drops the sessions and packets older than `max_disconnection_duration`; returns the expired
    /// sessions (for `on_session_expired`).
    std::vector<recovery_session> expire(clock::time_point now);
    /// When the oldest saved session expires; nothing when none is saved. Pops the stale entries (sessions
    /// restored or saved again) it finds first.
    std::optional<clock::time_point> next_expiry();
    /// The entries of the expiry queue, stale ones included (for the tests).
    std::size_t expiry_entries() const noexcept { return expiries_.size(); }

    std::size_t packet_count() const noexcept { return packets_.size(); }
    std::size_t buffered_bytes() const noexcept { return bytes_; }
    std::size_t session_count() const noexcept { return sessions_.size(); }

    /// The text of an offset, and back (nothing for text that is not one this store could have made).
    static std::string offset_text(std::uint64_t seq);
    static std::optional<std::uint64_t> parse_offset(std::string_view text) noexcept;

private:
    struct stored {
        std::uint64_t seq;
        clock::time_point at;
        std::vector<std::string> rooms;
        std::vector<std::string> except;
        protocol::encoded_packet packet;
        std::size_t bytes;
    };
    struct saved {
        recovery_session session;
        std::uint64_t first_seq;   // nothing before it is owed to the socket
        std::uint64_t persist_seq; // the next sequence when it was saved: the start without an offset
        clock::time_point expires;
        std::uint64_t generation; // which save: a restore of an earlier one cannot be admitted
    };
    void drop_front();
    void drop_older_than(clock::time_point limit);
    static bool owed(const stored& p, const recovery_session& s);
    /// Appends to `r.missed` the packets from sequence `from` on that `r.session` is owed.
    void append_owed(std::uint64_t from, restored_session& r) const;

    connection_state_recovery_options options_;
    std::deque<stored> packets_;
    std::size_t bytes_ = 0;
    std::uint64_t next_seq_ = 1;
    std::uint64_t dropped_through_ = 0; // every packet up to this sequence is gone
    std::uint64_t generations_ = 0;
    std::unordered_map<std::string, saved> sessions_;
    std::deque<std::pair<clock::time_point, std::string>> expiries_; // in saving order; may hold stale pids
};

/// Test hooks of the memory adapter's store-and-deliver step (null outside tests; set before traffic):
/// `after_store` runs right after a broadcast got its offset, `contended` when a broadcast is about to wait
/// for another one's step.
struct recovery_test_hooks {
    void (*after_store)() = nullptr;
    void (*contended)() = nullptr;
};
inline recovery_test_hooks recovery_hooks;

} // namespace sio::detail
