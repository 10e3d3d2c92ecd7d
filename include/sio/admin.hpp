// sio — the official Socket.IO Admin UI (`@socket.io/admin-ui` 0.5.1) on a sio server.
//
//     sio::server io(ioc.get_executor());
//     auto admin = sio::admin::instrument(io, {.auth = sio::admin::basic_auth{"admin", bcrypt_hash}});
//     io.listen("0.0.0.0", 3000);
//
// The UI connects to the admin namespace (default "/admin") with an official client, lists the servers,
// namespaces, sockets and rooms, and may make sockets join or leave rooms or disconnect them. See
// docs/admin-ui.md.
#pragma once

#include <sio/adapter/redis.hpp>
#include <sio/config.hpp>
#include <sio/server.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sio::admin {

/// What the UI gets: `development` adds every socket, room and event as it happens; `production` sends only
/// the servers' statistics (counts per namespace, aggregated connection counts).
enum class mode { development, production };

/// Basic authentication: the UI sends a user name and a password, checked against a bcrypt hash
/// (`$2a$`, `$2b$` or `$2y$`, e.g. from `htpasswd -nbBC 10 admin secret` or Node's `bcrypt.hashSync`).
struct basic_auth {
    std::string username;
    std::string password_hash;
};

/// Where the session ids of logged-in UIs are kept (a UI that logged in reconnects with its id instead of
/// the password). The default keeps them in memory, per server.
class session_store {
public:
    virtual ~session_store() = default;
    /// True when `id` was saved and has not expired. Any thread; resumes on the caller's executor.
    [[nodiscard]] virtual boost::asio::awaitable<bool> exists(std::string id) = 0;
    /// Saves `id` (16 lower-case hex characters).
    virtual void save(std::string id) = 0;
    /// The server is closing: release connections and timers (idempotent). Lookups afterwards say false.
    virtual void close() {}
};

/// An in-memory store: ids expire after `lifetime`; beyond `capacity` ids the oldest is dropped. Thread-safe.
std::shared_ptr<session_store> make_memory_store(std::chrono::seconds lifetime = std::chrono::hours(24),
                                                 std::size_t capacity = 10000);

/// A store in Redis with the key format of `@socket.io/admin-ui`'s `RedisStore`: `SET <prefix>#<id> 1 EX
/// <lifetime>`, looked up with `EXISTS`, so that a UI logged in on one server (sio or Node) is known to
/// every server of the cluster. Uses `redis`'s address, credentials, database, timeouts and back-off (its
/// own connection, opened on first use). While Redis is unreachable, session ids are unknown (the UI logs
/// in with its password) and new ones are not saved.
std::shared_ptr<session_store> make_redis_store(boost::asio::any_io_executor executor,
                                                const redis_options& redis,
                                                std::string prefix = "socket.io-admin",
                                                std::chrono::seconds lifetime = std::chrono::hours(24));

struct options {
    /// The admin namespace.
    std::string namespace_name = "/admin";
    /// Basic authentication. Without it, `auth_disabled` must be set: anyone who reaches the namespace
    /// sees every socket (and, unless `readonly`, may disconnect them).
    std::optional<basic_auth> auth;
    bool auth_disabled = false;
    /// No command at all (join, leave, disconnect, emit): the UI only watches.
    bool readonly = false;
    admin::mode mode = admin::mode::development;
    /// How the UI tells the servers of a cluster apart; empty: `<hostname>#<pid>-<6 random hex characters>`
    /// (different on every start, also between containers that share a host name and pid 1).
    std::string server_id;
    /// Session ids of logged-in UIs; empty: `make_memory_store()`.
    std::shared_ptr<session_store> store;
    /// Serve the official UI (the `@socket.io/admin-ui` build embedded at build time, and its licence at
    /// `<ui_path>LICENSE`) on the server's own port at this path, e.g. "/admin/" (a final '/' is added).
    /// Empty: not served (use https://admin.socket.io or your own copy). Must not be under the server's
    /// Engine.IO path. The page itself is public: only the namespace's authentication protects the data.
    std::string ui_path;
};

class instrumentation;

/// Instruments `io` for the Admin UI: creates the admin namespace with its authentication and commands,
/// watches every namespace, and broadcasts this server's statistics on the admin namespace every 2 s
/// (through the adapter: a UI connected to any server of a cluster sees every server). Call once, before
/// `listen`, from the thread that sets the server up. Throws std::invalid_argument for options that
/// cannot work: neither `auth` nor `auth_disabled`, a password hash that is not a valid bcrypt hash or
/// that the system's crypt_r cannot match (checked once at the lowest cost, about a millisecond), a
/// namespace name that does not start with '/'. The admin namespace is kept out of connection state
/// recovery (`server::of_without_recovery`): std::logic_error when it exists already with recovery on.
///
/// The returned object stops the statistics timer when destroyed (or when the server closes); the
/// namespace's handlers stay until the server closes. The server must outlive it.
[[nodiscard]] instrumentation instrument(server& io, options opts);

/// The handle `instrument` returns. Movable; destroying it stops the statistics timer.
class instrumentation {
public:
    instrumentation() = default;
    instrumentation(instrumentation&&) noexcept = default;
    instrumentation& operator=(instrumentation&&) noexcept;
    ~instrumentation();

    /// The id this server reports to the UI.
    const std::string& server_id() const noexcept;
    /// Stops the statistics timer (idempotent; any thread).
    void stop();

    struct state;
    explicit instrumentation(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}

private:
    std::shared_ptr<state> state_;
};

/// True when `password` matches the bcrypt `hash` (the system's `crypt_r`; constant time in the
/// comparison). False for a malformed hash. Slow by design (the hash's cost): do not call on a thread that
/// serves connections.
bool bcrypt_verify(std::string_view password, std::string_view hash);
/// True when `hash` is a bcrypt hash this system can check: `$2a$`, `$2b$` or `$2y$`, a cost of 04 to 31,
/// 53 characters of salt and digest.
bool is_bcrypt_hash(std::string_view hash) noexcept;

} // namespace sio::admin
