// sio — a namespace: a communication channel with its own sockets, rooms, middlewares and handlers.
#pragma once

#include <sio/broadcast.hpp>
#include <sio/config.hpp>
#include <sio/socket.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace sio {

namespace detail {
class namespace_impl;
struct access; // the library's way to the state behind a handle
} // namespace detail

class adapter; // sio/adapter.hpp

/// A namespace handle (`io.of("/admin")`). Copyable; thread-safe except where noted.
///
/// Register middlewares and handlers before clients connect (they are read without locking afterwards).
class namespace_ {
public:
    using connection_handler = std::function<void(socket)>;
    /// A connect middleware: return an error to refuse the connection (`connect_error` on the client).
    using middleware = std::function<boost::asio::awaitable<std::optional<middleware_error>>(socket)>;

    explicit namespace_(std::shared_ptr<detail::namespace_impl> impl) noexcept : impl_(std::move(impl)) {}

    const std::string& name() const noexcept;

    /// Called for every new socket, on its strand, after the client got its CONNECT answer. `handler` is
    /// `void(sio::socket)` or a coroutine `boost::asio::awaitable<void>(sio::socket)` (spawned on the
    /// strand; it may outlive the call). An exception it throws is logged; the socket stays connected.
    /// Register before clients connect; kept until the server closes.
    template <class F>
    void on_connection(F&& handler) const {
        if constexpr (detail::is_awaitable<std::invoke_result_t<F&, socket>>::value)
            on_connection_coro(std::forward<F>(handler));
        else
            on_connection_plain(std::forward<F>(handler));
    }
    void on_connection_plain(connection_handler handler) const;
    void on_connection_coro(std::function<boost::asio::awaitable<void>(socket)> handler) const;

    /// Adds a connect middleware: `std::optional<middleware_error>(sio::socket)`, or a coroutine returning
    /// `boost::asio::awaitable<std::optional<middleware_error>>`. Middlewares run in order; the first error
    /// refuses the connection.
    template <class F>
    void use(F&& mw) const {
        if constexpr (detail::is_awaitable<std::invoke_result_t<F&, socket>>::value)
            use_coro(std::forward<F>(mw));
        else
            use_plain(std::forward<F>(mw));
    }
    void use_coro(middleware mw) const;
    void use_plain(std::function<std::optional<middleware_error>(socket)> mw) const;

    // Broadcasting to the namespace: see broadcast_operator (any thread; `emit` throws
    // std::invalid_argument for a reserved event name).
    broadcast_operator to(std::string room) const { return ops().to(std::move(room)); }
    broadcast_operator to(const std::vector<std::string>& rooms) const { return ops().to(rooms); }
    broadcast_operator in(std::string room) const { return ops().in(std::move(room)); }
    broadcast_operator in(const std::vector<std::string>& rooms) const { return ops().in(rooms); }
    broadcast_operator except(std::string room) const { return ops().except(std::move(room)); }
    broadcast_operator except(const std::vector<std::string>& rooms) const { return ops().except(rooms); }
    broadcast_operator local() const { return ops().local(); }
    broadcast_operator volatile_() const { return ops().volatile_(); }
    broadcast_operator compress(bool on) const { return ops().compress(on); }
    broadcast_operator timeout(std::chrono::milliseconds t) const { return ops().timeout(t); }
    template <class... Args>
    void emit(std::string_view event, Args&&... args) const {
        ops().emit(event, std::forward<Args>(args)...);
    }

    /// The sockets connected to this namespace on this server (for a parent namespace: its children's), as
    /// handles copied now; any thread.
    std::vector<socket> sockets() const { return ops().sockets(); }

    // --- utility methods over every server (see broadcast_operator) ----------------------------------
    // Any thread; each awaitable owns what it needs, resumes on the awaiting coroutine's executor, and
    // is not cancellable (the adapter's request timeout bounds what waits for other servers).
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_join(std::string room) const {
        return ops().sockets_join(std::move(room));
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_join(std::vector<std::string> rooms) const {
        return ops().sockets_join(std::move(rooms));
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_leave(std::string room) const {
        return ops().sockets_leave(std::move(room));
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code>
    sockets_leave(std::vector<std::string> rooms) const {
        return ops().sockets_leave(std::move(rooms));
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code> disconnect_sockets(bool close = false) const {
        return ops().disconnect_sockets(close);
    }
    [[nodiscard]] boost::asio::awaitable<fetch_sockets_result> fetch_sockets() const {
        return ops().fetch_sockets();
    }

    // --- server-side events: between the servers of a cluster ----------------------------------------
    /// Handles the events other servers send with `server_side_emit` (never those of this server). Runs on
    /// the namespace's executor; `ev.ack` answers a `server_side_emit_with_ack`. Register before traffic.
    /// Throws std::invalid_argument for `connection`, `connect` (use `on_connection`) and `new_namespace`.
    void on(std::string event, std::function<void(sio::event&)> handler) const;
    /// Sends an event to the `on(event)` handlers of every other server of the cluster. Resolves with
    /// `error::reserved_event` for `connect`, `connection` and `new_namespace`, or the transport's error
    /// (Redis unreachable); with one server, success at once. Any thread; resumes on the awaiting
    /// coroutine's executor; owns copies of its arguments; not cancellable.
    template <class... Args>
    [[nodiscard]] boost::asio::awaitable<std::error_code> server_side_emit(std::string_view event,
                                                                           Args&&... args) const {
        return server_side_emit_arguments(std::string(event), make_arguments(std::forward<Args>(args)...));
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code> server_side_emit_arguments(std::string event,
                                                                                     arguments args) const;
    /// Same, and waits up to `timeout` (the last argument) for one acknowledgement per other server; on
    /// timeout the result holds `error::cluster_timeout`, the answers received and the silent servers.
    /// `timeout` bounds it: cancellation is not supported.
    template <class... Args>
    [[nodiscard]] boost::asio::awaitable<server_side_responses>
    server_side_emit_with_ack(std::string_view event, Args&&... args) const {
        static_assert(sizeof...(Args) >= 1, "the last argument is the timeout");
        auto all = std::forward_as_tuple(std::forward<Args>(args)...);
        constexpr std::size_t n = sizeof...(Args) - 1;
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return server_side_emit_with_ack_arguments(
                std::string(event), make_arguments(std::get<I>(std::move(all))...),
                std::chrono::duration_cast<std::chrono::milliseconds>(std::get<n>(all)));
        }
        (std::make_index_sequence<n>{});
    }
    [[nodiscard]] boost::asio::awaitable<server_side_responses>
    server_side_emit_with_ack_arguments(std::string event, arguments args,
                                        std::chrono::milliseconds timeout) const;
    /// The number of servers of the cluster, this one included (1 with the default adapter). Resumes on
    /// the awaiting coroutine's executor; bounded by the adapter's request timeout.
    [[nodiscard]] boost::asio::awaitable<std::size_t> server_count() const;

    /// Resolves once this namespace's adapter is connected and subscribed: from then on this server hears
    /// what the others publish (`adapter::ready()`). At once with the default adapter; with the Redis
    /// adapter, once Redis confirmed this namespace's subscriptions (it waits while Redis is unreachable,
    /// across reconnections). Works for a namespace created at any time. Resumes on the awaiting
    /// coroutine's executor; any thread; owns what it needs. Result: success, `error::adapter_closed`
    /// (the server closed first), or the error of a refused subscription. Cancellation (e.g.
    /// `co_await (nsp.adapter_ready() || timer.async_wait(use_awaitable))`) is supported while it waits.
    [[nodiscard]] boost::asio::awaitable<std::error_code> adapter_ready() const;

    /// The namespace's adapter (room events, custom adapters), owned by the namespace: valid while a
    /// handle to the namespace exists.
    sio::adapter& adapter() const noexcept;

    /// True when both handles name the same namespace.
    friend bool operator==(const namespace_& a, const namespace_& b) noexcept { return a.impl_ == b.impl_; }

private:
    friend struct detail::access;
    broadcast_operator ops() const { return broadcast_operator(impl_); }
    std::shared_ptr<detail::namespace_impl> impl_;
};

} // namespace sio
