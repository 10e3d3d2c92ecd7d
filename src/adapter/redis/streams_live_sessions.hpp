// Private to the library: the streams adapter's crash-safe sessions (`redis_streams_crash_safe_sessions`,
// docs/adapters.md). One per server, shared by its namespaces' adapters. While a socket is connected its
// session record is kept current in Redis, in Node's format (streams_codec.hpp `encode_session`), under
// `<key_prefix>session:<pid>`, a hash of two fields: `session` (the record) and `owner` (this server's id).
// A writer on a strand ticks every `write_interval`: it refreshes this server's owner key
// (`<key_prefix>owner:<id>`, expiring after `owner_timeout`) and its seen key (`<key_prefix>seen:<id>`,
// expiring after `max_disconnection_duration`: how long after a crash its sessions stay restorable, as
// Node keeps a dropped socket's session that long), then reads the sockets whose rooms changed (and, every
// `data_check_interval`, all of them) on their strands and writes each record that changed, with a
// `PEXPIRE` that outlasts the owner by `max_disconnection_duration` (refreshed when older). A socket that
// leaves (after the adapter saved its session in Node's key, on a recoverable drop) has its record
// deleted. Another server takes a record (`claim`) only when its owner key has expired.
// Thread-safe.
#pragma once

#include <sio/adapter.hpp>
#include <sio/adapter/redis_streams.hpp>
#include <sio/socket.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "connection.hpp"

namespace sio::streams_detail {

class live_sessions : public std::enable_shared_from_this<live_sessions> {
public:
    using clock = std::chrono::steady_clock;
    using commands_fn = std::function<std::shared_ptr<redis_detail::command_connection>()>;

    /// `commands`: the server's command connection (null once closed).
    live_sessions(redis_streams_crash_safe_sessions options, commands_fn commands);
    live_sessions(const live_sessions&) = delete;
    live_sessions& operator=(const live_sessions&) = delete;

    /// A namespace adapter with recovery on uses it: the first one starts the writer on `ex` (the sessions
    /// outlive their owner by `max_disconnection`).
    void attach(const boost::asio::any_io_executor& ex, std::chrono::milliseconds max_disconnection);
    /// That adapter closes: the last one stops the writer and deletes the owner key (its sockets were
    /// closed, their records deleted). Idempotent per attach.
    void detach();

    /// Socket `s` (private id `pid`) joined its namespace: its record is written at the next tick.
    void opened(const socket& s, const std::string& pid);
    /// The rooms of socket `sid` changed: its record is written again at the next tick.
    void touched(const std::string& sid);
    /// Socket `s` left its namespace (on its strand, after its session was saved in Node's key when the
    /// drop was recoverable): its record is deleted.
    void closed(const socket& s);

    enum class claim_outcome {
        absent,      ///< no record (never written, deleted, or expired)
        owner_alive, ///< its server is alive: it is not taken (the client gets a fresh session)
        expired,     ///< its server died longer than `max_disconnection_duration` ago: deleted
        claimed,     ///< taken (deleted): `record` holds it
        failed,      ///< Redis did not answer
    };
    struct claim_result {
        claim_outcome outcome = claim_outcome::absent;
        std::string record;
        std::chrono::milliseconds owner_ttl{0}; ///< owner_alive: how long its owner key still lives
    };
    /// Takes the record of `pid` when its owner is dead (atomically, by a script): the caller then
    /// restores it as a session saved at disconnection.
    [[nodiscard]] boost::asio::awaitable<claim_result> claim(std::string pid);

    /// How long an owner key outlives its server's last refresh.
    std::chrono::milliseconds owner_timeout() const noexcept { return options_.owner_timeout; }
    /// This server's id (the owner named in its records).
    const std::string& owner() const noexcept { return owner_; }
    std::string record_key(const std::string& pid) const { return options_.key_prefix + "session:" + pid; }
    std::string owner_key(const std::string& id) const { return options_.key_prefix + "owner:" + id; }
    std::string seen_key(const std::string& id) const { return options_.key_prefix + "seen:" + id; }

private:
    struct entry {
        socket s;
        std::string pid;
        bool dirty = true;
        bool closed = false;
        bool written = false;
        std::size_t written_hash = 0;
        clock::time_point last_write{};
    };
    static boost::asio::awaitable<void> run(std::shared_ptr<live_sessions> self);
    void tick(clock::time_point now);
    void heartbeat();
    /// On the socket's strand: writes the record of `e` when it changed (or refreshes its expiry).
    void snapshot(const std::shared_ptr<entry>& e);
    std::chrono::milliseconds record_ttl() const;

    const redis_streams_crash_safe_sessions options_;
    const commands_fn commands_;
    const std::string owner_;
    std::mutex mutex_;
    int users_ = 0;                                  // under mutex_
    std::chrono::milliseconds max_disconnection_{0}; // set by the first attach
    std::optional<boost::asio::strand<boost::asio::any_io_executor>> strand_;
    std::shared_ptr<boost::asio::steady_timer> timer_; // the writer's wait; cancelled by the last detach
    bool stopped_ = false;                             // under mutex_
    std::unordered_map<std::string, std::shared_ptr<entry>> entries_; // by sid; under mutex_
    clock::time_point next_heartbeat_{};                              // writer's strand only
    clock::time_point next_data_check_{};                             // writer's strand only
};

class streams_link;

/// The crash-safe sessions of the server of `link`, on its command connection; null when its options turn
/// them off.
std::shared_ptr<live_sessions> make_live_sessions(const std::shared_ptr<streams_link>& link);
/// Adapter `a` (recovery on, `options`) uses `live`: its room events mark its sockets' records to write
/// again. Returns true. Call before any traffic.
bool attach_live_sessions(adapter& a, const std::shared_ptr<live_sessions>& live,
                          const connection_state_recovery_options& options);
/// The record of `pid` taken from a dead owner, as a reply to Node's `GET <session key>` would hold it
/// (a string), or nil (logged at debug level with why, for namespace `nsp`).
boost::asio::awaitable<redis_detail::reply> claim_live_session(std::shared_ptr<live_sessions> live,
                                                               std::string pid, std::string nsp);

} // namespace sio::streams_detail
