// sio — the Socket.IO server.
//
//     boost::asio::io_context ioc;
//     sio::server io(ioc.get_executor());
//     io.on_connection([](sio::socket s) {
//         s.on("chat", [](sio::socket s, std::string text) { s.broadcast().emit("chat", text); });
//     });
//     io.listen("0.0.0.0", 3000);
//     ioc.run();
#pragma once

#include <sio/adapter.hpp>
#include <sio/broadcast.hpp>
#include <sio/config.hpp>
#include <sio/engineio/server.hpp>
#include <sio/metrics.hpp>
#include <sio/namespace.hpp>
#include <sio/observer.hpp>
#include <sio/options.hpp>
#include <sio/protocol/codec.hpp>
#include <sio/protocol/parser.hpp>
#include <sio/socket.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <string_view>

namespace sio {

namespace detail {
class server_state;
struct access;
} // namespace detail

/// Options of the Socket.IO server (the reference's defaults).
struct server_options {
    /// Engine.IO options; the path defaults to `/socket.io` here.
    engine_options engine = [] {
        engine_options o;
        o.path = "/socket.io";
        return o;
    }();
    /// A connection that joins no namespace within this time is closed.
    std::chrono::milliseconds connect_timeout{45000};
    /// A binary packet whose attachments do not all arrive within this time closes the connection.
    std::chrono::milliseconds attachment_timeout{30000};
    /// The packet codec and its decoder limits (attachments, attachment bytes, nesting depth). The codec
    /// defaults to the JSON parser; `parser = sio::protocol::msgpack_parser()` picks the msgpack parser
    /// (every client must then use socket.io-msgpack-parser), or give a `protocol::packet_codec` of your own
    /// (docs/parsers.md).
    protocol::parser_options parser;
    /// Back-pressure of `socket::receive()`: the events waiting for it, per socket, in events and in bytes
    /// (their size on the wire). When either is reached the server stops reading from that connection
    /// until the socket's coroutine has taken half of them (docs/emitting.md, "A session as a coroutine").
    std::size_t max_received_events = 1024;
    std::size_t max_received_bytes = 1024 * 1024;
    /// Remove a dynamic child namespace when its last socket leaves.
    bool cleanup_empty_child_namespaces = false;
    /// Makes each namespace's adapter; empty: `sio::memory_adapter` (one server).
    adapter_factory adapter;
    /// Connection state recovery (off when empty, like the reference): a client whose connection drops
    /// comes back with the same socket id, rooms and `data`, and gets the packets it missed. Needs an
    /// adapter that recovers (the default one does; the Redis adapter does not: a warning is logged).
    /// See docs/connection-state-recovery.md.
    std::optional<connection_state_recovery_options> connection_state_recovery;
    /// Serve the official browser client like Node's `serveClient`: `<path>/socket.io.js`, `.min.js`,
    /// `.esm.min.js`, `.msgpack.min.js` and their `.map` files (socket.io-client embedded at build time;
    /// 404 when the library was built without it). `false`: those paths go to Engine.IO like any other.
    bool serve_client = true;
    /// Metrics (docs/metrics.md): unset, nothing is counted; set, `server::metrics()` reads them, and the
    /// options may serve them (`GET /metrics`, Prometheus text) and a health check on the server's port.
    std::optional<metrics_options> metrics;
};

/// The Socket.IO server.
///
/// Thread safety: `of`, the broadcast operators and `close` may be called from any thread. Register
/// namespaces' handlers and middlewares before `listen`.
class server {
public:
    /// Every strand, timer and connection of the server runs on `executor` (an io_context's, run by any
    /// number of threads). The execution context must outlive the server.
    explicit server(boost::asio::any_io_executor executor, server_options options = {});
    /// Closes at once (like `close(0ms)`, without waiting for it): connections end, adapters close.
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and starts accepting (returns once bound: the error is the bind's). `port` 0 picks a free port
    /// (see `local_port`). Register namespaces and handlers first.
    std::error_code listen(std::string_view address, std::uint16_t port);
    /// Binds and serves HTTPS/WSS with `tls` (see `engineio::server::listen`): the context is used by
    /// reference and must outlive the server. See docs/tls.md.
    std::error_code listen(std::string_view address, std::uint16_t port, boost::asio::ssl::context& tls);
    std::uint16_t local_port() const noexcept;

    /// What the server counted since it started, and its current gauges (docs/metrics.md). Empty when
    /// `server_options::metrics` is unset. Any thread; costs a pass over every thread's counters and a
    /// socket count per namespace.
    metrics_snapshot metrics() const;

    /// The Engine.IO server underneath (clients count, id generator, headers and error events).
    engineio::server& engine() noexcept;

    /// The namespace called `name` (created on first use, with its adapter). Any thread; the handle keeps
    /// the namespace alive.
    namespace_ of(std::string_view name);
    /// Same, with connection state recovery off for this namespace even when
    /// `server_options::connection_state_recovery` is set: no pid, no offset, nothing kept (for events
    /// that mean nothing once missed; `sio::admin::instrument` uses it for its namespace). Throws
    /// std::logic_error when the namespace exists already with recovery on.
    namespace_ of_without_recovery(std::string_view name);
    /// A parent namespace: any namespace whose name matches is created on demand as its child; the
    /// parent's middlewares and connection handlers apply to every child.
    namespace_ of(std::function<bool(std::string_view name, const boost::json::object& auth)> predicate);
    namespace_ of(const std::regex& pattern);

    // The main namespace "/".
    template <class F>
    void on_connection(F&& handler) {
        of("/").on_connection(std::forward<F>(handler));
    }
    template <class F>
    void use(F&& mw) {
        of("/").use(std::forward<F>(mw));
    }
    broadcast_operator to(std::string room) { return of("/").to(std::move(room)); }
    broadcast_operator to(const std::vector<std::string>& rooms) { return of("/").to(rooms); }
    broadcast_operator in(std::string room) { return of("/").in(std::move(room)); }
    broadcast_operator in(const std::vector<std::string>& rooms) { return of("/").in(rooms); }
    broadcast_operator except(std::string room) { return of("/").except(std::move(room)); }
    broadcast_operator except(const std::vector<std::string>& rooms) { return of("/").except(rooms); }
    broadcast_operator local() { return of("/").local(); }
    broadcast_operator volatile_() { return of("/").volatile_(); }
    broadcast_operator compress(bool on) { return of("/").compress(on); }
    broadcast_operator timeout(std::chrono::milliseconds t) { return of("/").timeout(t); }
    template <class... Args>
    void emit(std::string_view event, Args&&... args) {
        of("/").emit(event, std::forward<Args>(args)...);
    }

    // Utility methods of the main namespace, over every server (see broadcast_operator).
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_join(std::string room) {
        return of("/").sockets_join(std::move(room));
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_join(std::vector<std::string> rooms) {
        return of("/").sockets_join(std::move(rooms));
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_leave(std::string room) {
        return of("/").sockets_leave(std::move(room));
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_leave(std::vector<std::string> rooms) {
        return of("/").sockets_leave(std::move(rooms));
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code> disconnect_sockets(bool close = false) {
        return of("/").disconnect_sockets(close);
    }
    [[nodiscard]] boost::asio::awaitable<fetch_sockets_result> fetch_sockets() {
        return of("/").fetch_sockets();
    }

    // Server-side events of the main namespace (see namespace_).
    void on(std::string event, std::function<void(sio::event&)> handler) {
        of("/").on(std::move(event), std::move(handler));
    }
    template <class... Args>
    [[nodiscard]] boost::asio::awaitable<std::error_code> server_side_emit(std::string_view event,
                                                                           Args&&... args) {
        return of("/").server_side_emit(event, std::forward<Args>(args)...);
    }
    template <class... Args>
    [[nodiscard]] boost::asio::awaitable<server_side_responses>
    server_side_emit_with_ack(std::string_view event, Args&&... args) {
        return of("/").server_side_emit_with_ack(event, std::forward<Args>(args)...);
    }
    [[nodiscard]] boost::asio::awaitable<std::size_t> server_count() { return of("/").server_count(); }
    /// The main namespace's adapter is connected and subscribed (see `namespace_::adapter_ready`), e.g.
    /// `co_await io.adapter_ready();` before `listen`. Other namespaces: `io.of(name).adapter_ready()`.
    [[nodiscard]] boost::asio::awaitable<std::error_code> adapter_ready() { return of("/").adapter_ready(); }

    /// Closes the server gracefully: stops accepting, every socket disconnects with "server shutting down"
    /// (its disconnect handlers run), each connection closes once its queued packets are written, then
    /// the adapters close. Starts at once, also when the returned awaitable is dropped; `co_await` it to
    /// wait until every connection is closed. After `deadline` what is left is closed at once (0: at once,
    /// queued packets discarded, like the reference's `io.close()`). Idempotent; any thread. The clients
    /// see a closed transport (they reconnect, as from a restarted Node server).
    boost::asio::awaitable<void> close(std::chrono::milliseconds deadline = std::chrono::seconds(10));

    /// Adds an observer of the server's life events (see `server_observer`; `sio::admin::instrument` uses
    /// it). Call before `listen`, from one thread: observers are read without a lock afterwards. Calls
    /// `observer->on_namespace` at once for every namespace that exists; the server keeps the observer
    /// until it is destroyed.
    void observe(std::shared_ptr<server_observer> observer);

private:
    friend struct detail::access;
    std::shared_ptr<detail::server_state> impl_;
};

} // namespace sio
