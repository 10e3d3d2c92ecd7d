// Private to the library: a Redis connection on Asio coroutines. RESP replies are parsed and commands
// formatted with hiredis (its reader and formatter only; the I/O is ours).
//
// Each connection has one strand for its state. A connection runs one session at a time (a socket, its
// RESP parser and its outgoing queue): a session coroutine connects (with `connect_timeout`), sends AUTH
// and SELECT, then reads replies until an error; writes are made by a writer coroutine that drains the
// session's queue with one gathered write per batch. Everything that fails is an `std::error_code`: the
// Asio/system error of the socket, `std::errc::timed_out` for a connection attempt that took too long, or
// one of `redis_detail::errc` (error.hpp).
//
// Files: error.{hpp,cpp} (the error codes), resp_reader.{hpp,cpp} (replies from bytes, no I/O),
// session.{hpp,cpp} (one TCP connection), connection_core.hpp (what both connections share),
// command_connection.cpp and subscriber_connection.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "error.hpp"
#include "resp_reader.hpp"

namespace sio::redis_detail {

/// A command from its words: `words("SET", key, "1")`. A function, not a braced list: GCC 12 miscompiles
/// braced initialisers with literals inside coroutines.
template <class... Words>
std::vector<std::string> words(Words&&... w) {
    std::vector<std::string> v;
    v.reserve(sizeof...(w));
    (v.emplace_back(std::forward<Words>(w)), ...);
    return v;
}

/// Where and how to connect.
struct endpoint {
    std::string host = "127.0.0.1"; ///< an IP address or a name (resolved at each connection)
    std::uint16_t port = 6379;
    std::string password; ///< AUTH when set
    std::string username; ///< AUTH username password (Redis 6 ACL) when both are set
    int db = 0;           ///< SELECT when not 0 (not used by the subscriber)
    std::chrono::milliseconds connect_timeout{5000}; ///< resolve + connect + AUTH + SELECT; 0: none
    std::chrono::milliseconds reconnect_min{100};    ///< first back-off delay
    std::chrono::milliseconds reconnect_max{5000};   ///< back-off cap
    std::size_t max_reply_bytes = 64 * 1024 * 1024;  ///< a reply larger than this closes the connection
    /// The elements that the arrays of one reply may declare in all (nested ones included); a reply
    /// declaring more closes the connection before any of them is allocated. Each element costs about
    /// `sizeof(reply)` (72 bytes) whatever its size on the wire (3 bytes at least), so this, not
    /// `max_reply_bytes`, bounds the memory of replies made of many tiny elements. Besides, the elements
    /// of one reply may take at most 1 MiB plus 8 times the bytes the reply sent so far (80 bytes
    /// counted per element, when its array is declared).
    std::size_t max_reply_elements = 1024 * 1024;
    /// Command connection: a command not answered within this time (from when it was issued) fails with
    /// `errc::command_timeout`, and so does every command pending behind it: the connection is closed
    /// and dialled again on the next use after the back-off delay. 0: no limit.
    std::chrono::milliseconds command_timeout{5000};
    /// Command connection: the bytes of commands issued but not yet written to the socket (queued while
    /// connecting, or because the socket does not drain: a stalled Redis). A command that would exceed
    /// it is refused with `errc::queue_full`. 0: no limit.
    std::size_t max_queued_bytes = 16 * 1024 * 1024;
};

/// A command connection: commands are pipelined (sent as soon as issued, replies matched in order).
/// It connects on first use and reconnects after an error, on the next use once the back-off delay
/// (reconnect_min, doubling up to reconnect_max while attempts fail) has passed; commands issued during
/// that delay fail at once with `errc::not_connected` (never queued for later), commands issued while a
/// connection attempt is under way wait for it. The delay starts again from reconnect_min only once
/// Redis answered on a connection (AUTH and SELECT accepted, or a first reply), not merely when TCP
/// connected. Any I/O or protocol error, or a command left unanswered for `command_timeout`, fails
/// every pending command with that error (a reply too large: the command it answers; the ones behind
/// it fail with `std::errc::connection_aborted`) and closes the connection. The outgoing queue is bounded by
/// `max_queued_bytes`. Thread-safe; every member may be called from any thread. `close()` fails pending
/// commands with `errc::closed` and stops reconnecting; the destructor closes.
///
/// Replies are matched to commands in order, so commands that change how the connection replies
/// (SUBSCRIBE and friends, MONITOR, CLIENT REPLY OFF/SKIP, RESET, HELLO 3) do not belong here. Blocking
/// commands (BLPOP ...) work but hold up the replies of the commands behind them, and must be answered
/// within `command_timeout`.
class command_connection {
public:
    command_connection(boost::asio::any_io_executor ex, endpoint ep);
    ~command_connection();
    command_connection(const command_connection&) = delete;
    command_connection& operator=(const command_connection&) = delete;

    /// Sends one command (`{"PUBLISH", channel, payload}`) and waits for its reply. An error reply from
    /// Redis is a `reply` of kind error (not an error code); I/O failure or a closed connection is an
    /// error code. The awaiting coroutine resumes on its own executor.
    [[nodiscard]] boost::asio::awaitable<std::pair<std::error_code, reply>>
    command(std::vector<std::string> args);
    /// Sends one command without waiting for its reply (the reply is read and dropped). No error when
    /// the command was handed over (it may still fail later, unseen); otherwise `errc::closed`,
    /// `errc::not_connected` (down, still within its back-off delay), `errc::queue_full` (the outgoing
    /// queue holds `max_queued_bytes` already) or `errc::invalid_command`.
    std::error_code send(std::vector<std::string> args);
    using reply_callback = std::function<void(std::error_code, reply)>;
    /// Sends one command; `on_reply` gets its outcome as `command()` would return it. It runs on the
    /// connection's strand (or at once, on the caller's thread, when the command is refused before being
    /// queued): the callbacks of the commands one thread issued run in that order, one at a time. It must
    /// not throw.
    void command(std::vector<std::string> args, reply_callback on_reply);
    /// True while connected (after AUTH and SELECT succeeded).
    bool connected() const noexcept;
    void close();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

/// A subscriber connection (RESP2 pub/sub mode): SUBSCRIBE / PSUBSCRIBE to channels and patterns and
/// receive messages. It connects at once, reconnects with back-off after an error (forever, until
/// closed), and subscribes again to everything it was subscribed to. The back-off delay starts again
/// from reconnect_min only once a connection is established: AUTH accepted and every re-subscription
/// confirmed (a server that accepts connections and then drops them is dialled less and less often).
/// Thread-safe. `on_message` is called on the connection's strand with (channel, payload) for SUBSCRIBE
/// messages and PSUBSCRIBE pmessages alike; `on_state` with true when (re)connected and every re-subscription
/// confirmed, and false when a connection that had reported true was lost. Handlers must not throw (an
/// exception is dropped).
class subscriber_connection {
public:
    using message_handler = std::function<void(std::string_view channel, std::string_view payload)>;
    using state_handler = std::function<void(bool up)>;
    /// Shard channels a Redis Cluster node gave up (a `sunsubscribe` it pushed after its slot moved) or
    /// refused with a redirection (`-MOVED`, `-ASK`, `-CLUSTERDOWN`, `-TRYAGAIN`): they leave the set,
    /// and are not reported as refused by synced(). Called on the connection's strand.
    using shard_lost_handler = std::function<void(std::vector<std::string> channels)>;

    subscriber_connection(boost::asio::any_io_executor ex, endpoint ep, message_handler on_message,
                          state_handler on_state = {}, shard_lost_handler on_shard_lost = {});
    ~subscriber_connection();
    subscriber_connection(const subscriber_connection&) = delete;
    subscriber_connection& operator=(const subscriber_connection&) = delete;

    /// The sets of channels and patterns are kept and sent again after each reconnection; while the
    /// connection is down they only change the sets.
    void subscribe(std::vector<std::string> channels);
    void psubscribe(std::vector<std::string> patterns);
    void unsubscribe(std::vector<std::string> channels);
    void punsubscribe(std::vector<std::string> patterns);
    /// Sharded pub/sub (Redis 7): SSUBSCRIBE / SUNSUBSCRIBE, one command per channel (a Redis Cluster
    /// refuses channels of different slots in one); `on_message` gets their `smessage`s.
    void ssubscribe(std::vector<std::string> channels);
    void sunsubscribe(std::vector<std::string> channels);
    /// Resolves once every subscription issued so far is confirmed by Redis (or at once with an error
    /// when the connection is down or closed; while a connection attempt is under way, once it succeeded
    /// and re-subscribed, or failed). `errc::subscribe_failed` when Redis refused one of them (with an
    /// error reply, an ACL refusal say: the names of the refused command leave the set); a refusal that
    /// arrived before any synced() call was waiting is reported by the next call. Lets callers know
    /// they will receive what is published next.
    [[nodiscard]] boost::asio::awaitable<std::error_code> synced();
    bool connected() const noexcept;
    /// Stops for good: no handler runs after close() returns... once the strand drained (handlers that
    /// already started may finish). Pending synced() calls resolve with `errc::closed`.
    void close();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

} // namespace sio::redis_detail
