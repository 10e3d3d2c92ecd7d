// sio — adapters: where the sockets and rooms of a namespace are kept, and how operations on them reach
// the other servers of a cluster.
//
// Every namespace owns one adapter, made by `server_options::adapter`. The default, `sio::memory_adapter`
// (sio/adapter/memory.hpp), serves one server. `sio::cluster_adapter` (sio/adapter/cluster.hpp) adds the
// requests and responses between servers on top of it, over a transport a derived class supplies (Redis).
//
// Applications reach the adapter through the namespace's utility methods (`io.in("room").fetch_sockets()`,
// `io.server_side_emit(...)`); they use it directly only for the room events (`io.of("/").adapter()
// .on_create_room(...)`) and to write an adapter of their own.
#pragma once

#include <sio/adapter_host.hpp>
#include <sio/broadcast_types.hpp>
#include <sio/config.hpp>
#include <sio/protocol/packet.hpp>
#include <sio/recovery.hpp>
#include <sio/socket.hpp>
#include <sio/socket_sink.hpp>
#include <sio/value.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace sio {

/// The adapter interface, one instance per namespace.
///
/// Thread safety: every member may be called from any thread; implementations synchronise. Room event
/// handlers are registered before traffic and run on the thread that changed the room, outside any lock.
/// Awaitables own what they need and resume on the awaiting coroutine's executor; cancelling one that
/// waits for other servers is not supported: the adapter's request timeout bounds it. Results carry
/// errors as values (`cluster_status::error`, the transport's error codes).
class adapter {
public:
    explicit adapter(adapter_host& host) noexcept : host_(host) {}
    virtual ~adapter() = default;
    adapter(const adapter&) = delete;
    adapter& operator=(const adapter&) = delete;

    adapter_host& host() const noexcept { return host_; }

    // --- room events (the reference's "create-room", "delete-room", "join-room", "leave-room") -----------
    void on_create_room(std::function<void(const std::string& room)> handler);
    void on_delete_room(std::function<void(const std::string& room)> handler);
    void on_join_room(std::function<void(const std::string& room, const std::string& sid)> handler);
    void on_leave_room(std::function<void(const std::string& room, const std::string& sid)> handler);

    // --- this server's sockets: called by the library ------------------------------------------------
    /// A socket connected: it joins the room named after its id.
    virtual void add_socket(const socket& s) = 0;
    /// A socket disconnected: it leaves every room.
    virtual void remove_socket(const socket& s) = 0;
    virtual void add_all(const socket& s, const std::vector<std::string>& rooms) = 0;
    virtual void del(const socket& s, const std::string& room) = 0;
    virtual std::vector<std::string> socket_rooms(const socket& s) const = 0;
    /// This server's sockets that `flags` selects (rooms, except).
    virtual std::vector<socket> local_sockets(const broadcast_flags& flags) const = 0;
    /// This server's rooms.
    virtual std::vector<std::string> local_rooms() const = 0;

    // --- operations on the selected sockets of every server (of this one only with `flags.local`) -----
    /// Sends an EVENT packet. The packet is encoded once for every local recipient.
    virtual void broadcast(protocol::packet packet, const broadcast_flags& flags) = 0;
    /// Sends an EVENT packet and collects every recipient's acknowledgement within `flags.timeout`.
    [[nodiscard]] virtual boost::asio::awaitable<broadcast_ack_result>
    broadcast_with_ack(protocol::packet packet, broadcast_flags flags) = 0;
    /// The selected sockets join `rooms`. Resolves once this server applied it and the others were told.
    [[nodiscard]] virtual boost::asio::awaitable<std::error_code>
    add_sockets(broadcast_flags flags, std::vector<std::string> rooms) = 0;
    /// The selected sockets leave `rooms`.
    [[nodiscard]] virtual boost::asio::awaitable<std::error_code>
    del_sockets(broadcast_flags flags, std::vector<std::string> rooms) = 0;
    /// The selected sockets leave the namespace ("server namespace disconnect"); with `close`, their
    /// connections end.
    [[nodiscard]] virtual boost::asio::awaitable<std::error_code> disconnect_sockets(broadcast_flags flags,
                                                                                     bool close) = 0;
    [[nodiscard]] virtual boost::asio::awaitable<fetched_sockets> fetch_sockets(broadcast_flags flags) = 0;
    [[nodiscard]] virtual boost::asio::awaitable<room_list> all_rooms() = 0;

    // --- the other servers ------------------------------------------------------------------------------
    /// Sends an event to the server-side handlers of every other server (not this one).
    [[nodiscard]] virtual boost::asio::awaitable<std::error_code> server_side_emit(std::string event,
                                                                                   arguments args) = 0;
    /// Same, and collects one acknowledgement per other server within `timeout`.
    [[nodiscard]] virtual boost::asio::awaitable<server_side_responses>
    server_side_emit_with_ack(std::string event, arguments args, std::chrono::milliseconds timeout) = 0;
    /// The number of servers, this one included.
    [[nodiscard]] virtual boost::asio::awaitable<std::size_t> server_count() = 0;

    /// Resolves once the adapter is connected to the other servers and subscribed to what they publish,
    /// so that this server hears what is sent from then on: at once for an adapter of one server (the
    /// default). With `error::adapter_closed` when the adapter closes first; other errors as the
    /// transport reports them (a subscription the Redis server refused). Behind
    /// `namespace_::adapter_ready()`; an adapter that connects to something overrides it.
    [[nodiscard]] virtual boost::asio::awaitable<std::error_code> ready() { co_return std::error_code{}; }
    /// Whether the adapter is connected to the other servers right now (the health check,
    /// `metrics_options::health_endpoint`): always for an adapter of one server. Any thread; cheap.
    virtual bool connected() const noexcept { return true; }

    // --- connection state recovery (docs/connection-state-recovery.md) ---------------------------------
    /// Called once, right after construction, when the server enables recovery. Returns whether this
    /// adapter recovers sessions; the default (an adapter that does not) returns false, and the library
    /// then sends no pid. A recovering adapter's `broadcast` keeps each EVENT packet without ack id that is
    /// not volatile, and appends its offset (a string) as the packet's last argument before encoding it,
    /// so every recipient of one broadcast gets the same offset and the same encoding. With recovery on,
    /// `socket.emit` is a broadcast to the socket's own room, so it is kept too.
    virtual bool enable_recovery(const connection_state_recovery_options&) { return false; }
    /// Saves the session of a socket whose connection dropped for a recoverable reason. Called on the
    /// socket's strand before it leaves its rooms.
    virtual void persist_session(recovery_session) {}
    /// The session of private id `pid` with the packets sent after `offset` (without an offset: those sent
    /// since the session was saved), or nothing when it cannot be recovered whole (unknown or expired pid,
    /// unknown offset, a needed packet dropped). The session stays saved: the connection may still fail
    /// (the client leaves, a middleware refuses) before `add_recovered_socket` consumes it.
    [[nodiscard]] virtual boost::asio::awaitable<std::optional<restored_session>>
    restore_session(std::string /*pid*/, std::optional<std::string> /*offset*/) {
        co_return std::nullopt;
    }
    /// Adds socket `s`, restored from `restored` (after `restore_session` and the middlewares), as one step
    /// with respect to broadcasts: appends to `restored.missed` what was kept for the socket since the
    /// restore, calls `write` (the library queues `restored.missed` in order, then the CONNECT answer, all or
    /// nothing), adds the socket with `restored.session.rooms` (its own id's room only when listed), and
    /// forgets the saved session. A broadcast is then either in `missed` or delivered live, once, in offset
    /// order. Returns false, doing nothing, when the session can no longer be recovered whole (expired,
    /// restored by another connection, a needed packet dropped since): the library then connects a fresh
    /// socket. When `write` returns false (the connection's queue did not take the replay), returns false
    /// without adding the socket and keeps the saved session: the library closes that connection.
    /// Called on the socket's strand; `write` must not be called after returning. The default (for an
    /// adapter that has no such step) calls `write`, then `add_socket` and the rooms.
    virtual bool add_recovered_socket(const socket& s, restored_session& restored,
                                      const std::function<bool()>& write);

    /// A socket joined the namespace with recovery on (new or recovered), with its private id: for an
    /// adapter that keeps each session current while its socket is connected (the Redis streams adapter's
    /// crash-safe sessions). Called on the socket's strand once the socket is in its rooms, before the
    /// connection handlers run. The default does nothing.
    virtual void session_opened(const socket& /*s*/, const std::string& /*pid*/) {}

    /// Called once, after construction, when `host().anchor()` works (the namespace is owned): start
    /// subscribing to the other servers here.
    virtual void init() {}
    /// The server is closing: stop talking to the other servers. Idempotent.
    virtual void close() {}

protected:
    void emit_create_room(const std::string& room) const;
    void emit_delete_room(const std::string& room) const;
    void emit_join_room(const std::string& room, const std::string& sid) const;
    void emit_leave_room(const std::string& room, const std::string& sid) const;
    /// True when some room handler is registered (to skip collecting events).
    bool has_room_handlers() const noexcept;

private:
    adapter_host& host_;
    std::vector<std::function<void(const std::string&)>> on_create_room_;
    std::vector<std::function<void(const std::string&)>> on_delete_room_;
    std::vector<std::function<void(const std::string&, const std::string&)>> on_join_room_;
    std::vector<std::function<void(const std::string&, const std::string&)>> on_leave_room_;
};

/// Makes the adapter of a namespace (`server_options::adapter`).
using adapter_factory = std::function<std::unique_ptr<adapter>(adapter_host& host)>;

} // namespace sio
