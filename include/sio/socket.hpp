// sio — a Socket.IO socket: one client connected to one namespace.
#pragma once

#include <sio/config.hpp>
#include <sio/engineio/session.hpp>
#include <sio/error.hpp>
#include <sio/options.hpp>
#include <sio/value.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace sio {

namespace detail {
class socket_impl;
struct ack_state;
struct access; // the library's way to the state behind a handle
} // namespace detail

class broadcast_operator;

/// Why a socket disconnected; `to_string` gives the reference's strings.
enum class disconnect_reason {
    transport_error,             ///< "transport error"
    transport_close,             ///< "transport close"
    forced_close,                ///< "forced close"
    ping_timeout,                ///< "ping timeout"
    parse_error,                 ///< "parse error"
    server_shutting_down,        ///< "server shutting down"
    forced_server_close,         ///< "forced server close"
    client_namespace_disconnect, ///< "client namespace disconnect"
    server_namespace_disconnect, ///< "server namespace disconnect"
};
std::string_view to_string(disconnect_reason reason) noexcept;
/// Whether connection state recovery saves the session of a socket that disconnects for `reason` (the
/// transport and server-side closes, not a namespace disconnect or a parse error).
bool recoverable(disconnect_reason reason) noexcept;

/// What the client sent when it connected (the reference's `socket.handshake`).
struct handshake {
    header_list headers;
    std::string time;    ///< creation date, as `Date.toString()` would print it
    std::string address; ///< the client's IP address
    bool xdomain = false;
    bool secure = false;
    std::int64_t issued = 0; ///< creation time, ms since the epoch
    std::string url;         ///< the request target of the first request
    std::vector<std::pair<std::string, std::string>> query;
    boost::json::object auth; ///< the CONNECT payload
};

/// The answer to an acknowledged emit.
struct ack_result {
    std::error_code error; ///< `sio::error::ack_timeout`, `sio::error::session_closed`, or success
    arguments args;        ///< the arguments the client acknowledged with
};

/// The acknowledgement callback of a received event. Calling it more than once, or when the client asked
/// for no acknowledgement, does nothing. Thread-safe; copyable.
class ack {
public:
    ack() = default;
    explicit ack(std::shared_ptr<detail::ack_state> state) noexcept : state_(std::move(state)) {}

    /// True when the client asked for an acknowledgement that has not been sent yet.
    explicit operator bool() const noexcept;
    template <class... Args>
    void operator()(Args&&... args) const {
        send(make_arguments(std::forward<Args>(args)...));
    }
    void send(arguments args) const;

private:
    std::shared_ptr<detail::ack_state> state_;
};

/// A received event.
struct event {
    std::string name;
    arguments args; ///< the arguments after the event name
    sio::ack ack;   ///< set when the client asked for an acknowledgement
};

/// An error refusing a connection (namespace middleware) or a packet (socket middleware). The client sees
/// `message` and `data` in its `connect_error`.
struct middleware_error {
    std::string message;
    boost::json::value data;
};

class socket;

/// A socket plus per-emit flags: `socket.timeout(5s).emit_with_ack(...)`, `socket.volatile_().emit(...)`.
class emitter {
public:
    explicit emitter(std::shared_ptr<detail::socket_impl> s) noexcept : socket_(std::move(s)) {}

    emitter& compress(bool on) noexcept {
        compress_ = on;
        return *this;
    }
    emitter& volatile_() noexcept {
        volatile_flag_ = true;
        return *this;
    }
    emitter& timeout(std::chrono::milliseconds t) noexcept {
        timeout_ = t;
        return *this;
    }

    /// Queues an event and returns at once (never waits for the network). Any thread; the emits of one
    /// socket keep their order. Returns false when the socket is disconnected or the packet was dropped
    /// (volatile while not writable, or the queue's overflow policy); with connection state recovery, an
    /// emit to a socket whose client dropped for a recoverable reason is kept for its replay (true). Throws
    /// std::invalid_argument for a reserved event name (`connect`, `disconnect`, ...), and what `value_from`
    /// throws for an argument.
    template <class... Args>
    bool emit(std::string_view event, Args&&... args) const {
        return emit_arguments(event, make_arguments(std::forward<Args>(args)...));
    }
    bool emit_arguments(std::string_view event, arguments args) const;

    /// Emits and waits for the client's acknowledgement, at most `timeout` when one is set (without one it
    /// waits until the client answers or disconnects). Any thread; resumes on the awaiting coroutine's
    /// executor. The result's `error`: `error::ack_timeout`, `error::not_connected` (disconnected before
    /// or meanwhile), or success. Per-operation cancellation is not supported: set a timeout instead.
    /// Throws std::invalid_argument (at the call) for a reserved event name.
    template <class... Args>
    [[nodiscard]] boost::asio::awaitable<ack_result> emit_with_ack(std::string_view event,
                                                                   Args&&... args) const {
        return emit_with_ack_arguments(std::string(event), make_arguments(std::forward<Args>(args)...));
    }
    /// The awaitable owns copies of everything it needs: the emitter may be a temporary.
    [[nodiscard]] boost::asio::awaitable<ack_result> emit_with_ack_arguments(std::string event,
                                                                             arguments args) const;

private:
    static boost::asio::awaitable<ack_result>
    emit_with_ack_impl(std::shared_ptr<detail::socket_impl> s,
                       std::optional<std::chrono::milliseconds> timeout, bool compress, std::string event,
                       arguments args);
    std::shared_ptr<detail::socket_impl> socket_;
    bool compress_ = true;
    bool volatile_flag_ = false;
    std::optional<std::chrono::milliseconds> timeout_;
};

/// A Socket.IO socket: a handle, cheap to copy, safe to keep after disconnection.
///
/// Thread safety: `emit`, `emit_with_ack`, `join`, `leave`, `rooms`, `disconnect` and the broadcast
/// operators may be called from any thread. Handlers run on the socket's strand (`executor()`); register
/// them (`on`, `on_any`, `use`, `on_disconnect`, ...) from the connection handler. `data()` belongs to the
/// strand: touch it from handlers.
class socket {
public:
    socket() = default;
    explicit socket(std::shared_ptr<detail::socket_impl> impl) noexcept : impl_(std::move(impl)) {}

    /// The socket id: 20 random characters, distinct from the Engine.IO session id.
    const std::string& id() const noexcept;
    /// The namespace name.
    const std::string& nsp() const noexcept;
    /// What the client sent when it connected; built on the first call (from any thread), then kept. The
    /// reference is valid as long as a handle to the socket exists.
    const sio::handshake& handshake() const;
    /// Application data attached to the socket. Not synchronised: read and write it on the socket's strand
    /// only (its handlers, or `dispatch(executor(), ...)`). `fetch_sockets` copies it there.
    boost::json::value& data() const noexcept;
    /// False once the socket left its namespace (any thread; it may change right after the call).
    bool connected() const noexcept;
    /// True when this socket was restored by connection state recovery: same id, rooms and `data` as
    /// before the drop, and the missed packets were sent before the CONNECT answer. Any thread.
    bool recovered() const noexcept;
    /// The socket's strand: its session's (`engineio::session::executor()`).
    boost::asio::any_io_executor executor() const noexcept;
    /// The Engine.IO session under the socket (the reference's `socket.conn`): its id, transport and
    /// opening request; any thread. Its message and close handlers belong to the library: do not replace
    /// them.
    engineio::session conn() const;

    // Rooms. A socket is always in the room named after its id. Any thread (the adapter synchronises):
    // a broadcast started on this server after `join` returned reaches the socket.
    void join(std::string room) const;
    void join(const std::vector<std::string>& rooms) const;
    void join(std::initializer_list<std::string> rooms) const { join(std::vector<std::string>(rooms)); }
    void leave(const std::string& room) const;
    /// The socket's rooms now (its own id included), as a copy; any thread.
    std::vector<std::string> rooms() const;

    /// Registers a handler for `event`. Accepted forms:
    /// - `void(sio::socket, sio::event&)` or `awaitable<void>(sio::socket, sio::event)`;
    /// - typed: `void(sio::socket, A1, ..., An)` or `void(sio::socket, A1, ..., An, sio::ack)`, the
    ///   arguments converted with `value_to`. An event whose arguments do not convert (or are too few)
    ///   is dropped, with a debug-level log line of scope `socket`.
    /// An exception thrown by the handler is caught and logged at error level with the event name; the
    /// socket stays connected.
    /// Throws std::invalid_argument for the reserved names `connect`, `connect_error`, `disconnect`,
    /// `disconnecting`, `newListener`, `removeListener` (use `on_disconnect`, `on_disconnecting`, ...).
    template <class F>
    void on(std::string event, F&& handler) const;
    void on_event(std::string event_name, std::function<void(socket, event&)> handler) const;

    /// Handlers called with every incoming event before its own handler (on the strand, like every
    /// handler; the registration functions below are strand-only too).
    void on_any(std::function<void(socket, const event&)> handler) const;
    void prepend_any(std::function<void(socket, const event&)> handler) const;
    void off_any() const;
    /// Handlers called with every outgoing event (name, arguments).
    void on_any_outgoing(std::function<void(socket, std::string_view, const arguments&)> handler) const;
    void prepend_any_outgoing(std::function<void(socket, std::string_view, const arguments&)> handler) const;
    void off_any_outgoing() const;
    /// Per-packet middleware: return an error to drop the event; the socket's error handler gets it.
    void use(std::function<std::optional<middleware_error>(socket, event&)> middleware) const;
    /// Called with the errors of per-packet middlewares (the reference's `socket.on("error")`).
    void on_error(std::function<void(socket, const middleware_error&)> handler) const;

    /// Called on the strand when the socket is about to leave its rooms (rooms still readable).
    void on_disconnecting(std::function<void(socket, disconnect_reason)> handler) const;
    /// Called once on the strand when the socket is disconnected, with the reason; an exception it throws
    /// is logged and dropped.
    void on_disconnect(std::function<void(socket, disconnect_reason)> handler) const;

    /// See `emitter::emit`: queues at once, any thread, false when disconnected or dropped; throws
    /// std::invalid_argument for a reserved event name.
    template <class... Args>
    bool emit(std::string_view event, Args&&... args) const {
        return emitter(impl_).emit(event, std::forward<Args>(args)...);
    }
    bool emit_arguments(std::string_view event, arguments args) const {
        return emitter(impl_).emit_arguments(event, std::move(args));
    }
    /// See `emitter::emit_with_ack`: no timeout here (`timeout(t).emit_with_ack(...)` sets one); resumes
    /// on the awaiting coroutine's executor; not cancellable. The awaitable owns copies of its arguments.
    template <class... Args>
    [[nodiscard]] boost::asio::awaitable<ack_result> emit_with_ack(std::string_view event,
                                                                   Args&&... args) const {
        return emitter(impl_).emit_with_ack(event, std::forward<Args>(args)...);
    }
    emitter timeout(std::chrono::milliseconds t) const { return emitter(impl_).timeout(t); }
    emitter compress(bool on) const { return emitter(impl_).compress(on); }
    emitter volatile_() const { return emitter(impl_).volatile_(); }

    /// Every other socket of the namespace (`socket.broadcast`).
    broadcast_operator broadcast() const;
    /// The sockets in `room`, without this one (`socket.to(room)`).
    broadcast_operator to(std::string room) const;
    broadcast_operator to(const std::vector<std::string>& rooms) const;
    broadcast_operator except(std::string room) const;

    // --- A session as a coroutine (docs/emitting.md) ---------------------------------------------------
    // Which events wait for `receive()`: those no `on(name, ...)` handler took (after `on_any` and the
    // middlewares), while a coroutine connection handler of the socket runs (from the connection: none is
    // lost before its first `receive()`); without one, from the first `receive()` until the disconnection.
    // At most `server_options::max_received_events` / `max_received_bytes` wait: once `receive()` has been
    // called, reaching the bound stops reading from the connection (WebSocket reads pause, a polling POST
    // is answered later) until half of them were taken — nothing is dropped, and the heartbeat does not
    // time the client out meanwhile; before the first `receive()`, events beyond the bound are dropped
    // (logged at debug level). When the connection handler coroutine ends, events still waiting are
    // dropped and no more are kept.
    //
    // Every call below may be awaited from any coroutine (it runs on the socket's strand, and resumes on
    // the awaiting coroutine's executor), several at once. Each supports per-operation cancellation
    // (terminal, e.g. Asio's awaitable operators `||`): a cancelled call throws
    // `boost::system::system_error` (`operation_aborted`) and takes no event. When the socket disconnects
    // (any reason, `io.close()` included), a waiting call resumes: `receive()` with an empty result once
    // the events that arrived before the disconnection were taken, `disconnected()` with the reason. When
    // the io_context stops, a waiting call does not resume; destroying the io_context destroys the
    // waiting coroutine's frame (its destructors run, nothing after the `co_await`).

    /// The next waiting event in arrival order, with its arguments and its ack; empty once the socket is
    /// disconnected and no event waits (`disconnection_reason()` says why).
    [[nodiscard]] boost::asio::awaitable<std::optional<event>> receive() const;
    /// The first waiting event named `name`; the others stay waiting, in order. Empty as `receive()`.
    [[nodiscard]] boost::asio::awaitable<std::optional<event>> receive(std::string name) const;
    /// As `receive()`, also empty when nothing came within `timeout` (`connected()` still true then).
    [[nodiscard]] boost::asio::awaitable<std::optional<event>>
    receive(std::chrono::milliseconds timeout) const;
    [[nodiscard]] boost::asio::awaitable<std::optional<event>>
    receive(std::string name, std::chrono::milliseconds timeout) const;
    /// Resolves once the socket is disconnected (at once when it is), with the reason. A socket that never
    /// joined its namespace (a connect middleware's handle) resolves at once with `forced_server_close`.
    [[nodiscard]] boost::asio::awaitable<disconnect_reason> disconnected() const;
    /// Why the socket disconnected; empty while connected. Any thread.
    std::optional<disconnect_reason> disconnection_reason() const noexcept;

    /// Leaves the namespace ("server namespace disconnect"); with `close`, ends the whole connection
    /// (every namespace of it). Any thread: runs on the socket's strand (at once when called there), the
    /// disconnect handlers included; returns without waiting for it. No effect once disconnected.
    void disconnect(bool close = false) const;

    explicit operator bool() const noexcept { return impl_ != nullptr; }
    friend bool operator==(const socket& a, const socket& b) noexcept { return a.impl_ == b.impl_; }

private:
    friend struct detail::access;
    std::shared_ptr<detail::socket_impl> impl_;
};

namespace detail {

template <class T>
struct is_awaitable : std::false_type {};
template <class T, class E>
struct is_awaitable<boost::asio::awaitable<T, E>> : std::true_type {};

/// True when `F(A...)` is valid and does not return an awaitable (a plain handler).
template <class F, class... A>
constexpr bool plain_invocable() {
    if constexpr (std::is_invocable_v<F, A...>)
        return !is_awaitable<std::invoke_result_t<F, A...>>::value;
    else
        return false;
}

template <class F>
struct call_signature : call_signature<decltype(&std::decay_t<F>::operator())> {};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...) const> {
    using result = R;
    using args = std::tuple<A...>;
};
template <class C, class R, class... A>
struct call_signature<R (C::*)(A...)> {
    using result = R;
    using args = std::tuple<A...>;
};
template <class R, class... A>
struct call_signature<R (*)(A...)> {
    using result = R;
    using args = std::tuple<A...>;
};

/// Spawns a coroutine handler on the socket's strand (exceptions are swallowed and reported).
void spawn_handler(const socket& s, boost::asio::awaitable<void> handler);
/// Spawns a connection handler coroutine on the socket's strand, as the socket's session: unhandled events
/// wait for `receive()` while it runs; an exception ending it is logged (error level) with its message.
void spawn_session(const socket& s, boost::asio::awaitable<void> session);

/// Runs a coroutine callable that the coroutine itself keeps alive: a lambda's captures live in the lambda
/// object, which must outlive every coroutine it started.
template <class F, class... Args>
boost::asio::awaitable<void> invoke_owned(std::shared_ptr<F> f, Args... args) {
    co_await (*f)(std::move(args)...);
}

/// Logs (debug level, scope `socket`) an event whose arguments do not convert to a typed handler's
/// parameters: the event is dropped.
void report_unconverted_arguments(const socket& s, const event& ev, const char* why) noexcept;

/// Converts the arguments, then calls the handler outside the conversion's `try`: arguments that do not
/// convert drop the event (logged at debug level); what the handler itself throws propagates to the
/// caller, which logs it at error level with the event name (as for untyped handlers).
template <class F, class Params, bool HasAck, std::size_t... I>
void invoke_typed(F& f, socket s, event& ev, std::index_sequence<I...>) {
    if (ev.args.size() < sizeof...(I)) {
        report_unconverted_arguments(s, ev, "too few arguments");
        return;
    }
    using converted_type = std::tuple<std::decay_t<std::tuple_element_t<I, Params>>...>;
    std::optional<converted_type> converted;
    try {
        converted.emplace(ev.args.template get<std::decay_t<std::tuple_element_t<I, Params>>>(I)...);
    } catch (const std::exception& e) {
        report_unconverted_arguments(s, ev, e.what());
        return;
    }
    if constexpr (HasAck)
        std::invoke(f, s, std::get<I>(std::move(*converted))..., ev.ack);
    else
        std::invoke(f, s, std::get<I>(std::move(*converted))...);
}

template <class F, class Tuple>
struct typed_handler;
template <class F, class S, class... A>
struct typed_handler<F, std::tuple<S, A...>> {
    static void call(F& f, socket s, event& ev) {
        if constexpr (sizeof...(A) == 0) {
            std::invoke(f, s);
        } else {
            using params = std::tuple<A...>;
            constexpr bool has_ack =
                std::is_same_v<std::decay_t<std::tuple_element_t<sizeof...(A) - 1, params>>, sio::ack>;
            invoke_typed<F, params, has_ack>(f, s, ev,
                                             std::make_index_sequence<sizeof...(A) - (has_ack ? 1 : 0)>{});
        }
    }
};

} // namespace detail

template <class F>
void socket::on(std::string event_name, F&& handler) const {
    using fn = std::decay_t<F>;
    if constexpr (detail::plain_invocable<fn&, socket, event&>()) {
        on_event(std::move(event_name), std::forward<F>(handler));
    } else if constexpr (std::is_invocable_v<fn&, socket, event>) {
        auto owned = std::make_shared<fn>(std::forward<F>(handler));
        on_event(std::move(event_name), [owned](socket s, event& ev) {
            detail::spawn_handler(s, detail::invoke_owned(owned, s, std::move(ev)));
        });
    } else {
        on_event(std::move(event_name), [h = std::forward<F>(handler)](socket s, event& ev) mutable {
            detail::typed_handler<fn, typename detail::call_signature<fn>::args>::call(h, s, ev);
        });
    }
}

} // namespace sio
