// sio — broadcast operators: `io.to("room").except("other").volatile_().emit(...)`.
#pragma once

#include <sio/broadcast_types.hpp>
#include <sio/config.hpp>
#include <sio/socket.hpp>
#include <sio/value.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sio {

namespace detail {
class namespace_impl;
}

class broadcast_operator;

/// A socket returned by `fetch_sockets()`: on this server or on another one of the cluster, used the same
/// way. `handshake`, `rooms` and `data` are a snapshot taken when it was fetched (for a local socket, on
/// the socket's strand): later changes to the socket do not show, and the snapshot may be read from any
/// thread. For live access to a local socket, use `local()` (on its strand). Operations (`emit`, `join`,
/// ...) go to the socket directly when it is local, through the adapter otherwise. Thread-safe; copyable.
class remote_socket {
public:
    remote_socket(std::shared_ptr<detail::namespace_impl> nsp, socket_details details, socket local = {})
        : nsp_(std::move(nsp)), details_(std::move(details)), local_(std::move(local)) {}

    const std::string& id() const noexcept { return details_.id; }
    /// The snapshot of the socket's handshake.
    const sio::handshake& handshake() const noexcept { return details_.handshake; }
    /// The snapshot of the socket's rooms (its own id included).
    const std::vector<std::string>& rooms() const noexcept { return details_.rooms; }
    /// The snapshot of the socket's application data (`socket::data()` when it was fetched).
    const boost::json::value& data() const noexcept { return details_.data; }
    /// The socket itself when it lives on this server, for live access (its `data()` on its strand); an
    /// empty handle otherwise.
    const socket& local() const noexcept { return local_; }

    /// Sends to this socket: queued at once when local, published through the adapter otherwise (dropped
    /// while the cluster is unreachable). Any thread. Throws std::invalid_argument for a reserved name.
    template <class... Args>
    void emit(std::string_view event, Args&&... args) const {
        emit_arguments(event, make_arguments(std::forward<Args>(args)...));
    }
    void emit_arguments(std::string_view event, arguments args) const;
    /// A copy whose `emit_with_ack` waits at most `t` (required, as in the reference).
    remote_socket timeout(std::chrono::milliseconds t) const {
        auto copy = *this;
        copy.timeout_ = t;
        return copy;
    }
    /// Emits and waits for the client's acknowledgement (`error::invalid_argument` without `timeout`;
    /// `error::ack_timeout`, `error::not_connected`). Resumes on the awaiting coroutine's executor; the
    /// timeout bounds it (not cancellable); owns copies. Throws std::invalid_argument for a reserved name.
    template <class... Args>
    [[nodiscard]] boost::asio::awaitable<ack_result> emit_with_ack(std::string_view event,
                                                                   Args&&... args) const {
        return emit_with_ack_arguments(std::string(event), make_arguments(std::forward<Args>(args)...));
    }
    [[nodiscard]] boost::asio::awaitable<ack_result> emit_with_ack_arguments(std::string event,
                                                                             arguments args) const;
    /// Room changes and disconnection, applied when awaited: directly on a local socket (the snapshot's
    /// `rooms()` does not change), through the adapter for a remote one (resolves once published; the
    /// transport's error when it could not be). Resume on the awaiting coroutine's executor.
    [[nodiscard]] boost::asio::awaitable<std::error_code> join(std::vector<std::string> rooms) const;
    [[nodiscard]] boost::asio::awaitable<std::error_code> join(std::string room) const {
        return join(std::vector<std::string>{std::move(room)});
    }
    [[nodiscard]] boost::asio::awaitable<std::error_code> leave(std::string room) const;
    [[nodiscard]] boost::asio::awaitable<std::error_code> disconnect(bool close = false) const;

private:
    broadcast_operator only_this() const;

    std::shared_ptr<detail::namespace_impl> nsp_;
    socket_details details_;
    socket local_;
    std::optional<std::chrono::milliseconds> timeout_;
};

/// `fetch_sockets()`: the sockets of every server that answered; see `cluster_status` for the others.
struct fetch_sockets_result : cluster_status {
    std::vector<remote_socket> sockets;

    auto begin() const noexcept { return sockets.begin(); }
    auto end() const noexcept { return sockets.end(); }
    std::size_t size() const noexcept { return sockets.size(); }
};

/// A set of sockets to emit to. Thread-safe: emit from any thread. The packet is encoded once, whatever the
/// number of recipients (except with acknowledgements: each recipient has its own ack id). A value: the
/// selectors (`to`, `except`, `local`, ...) return a new operator and never change this one; it holds the
/// namespace alive (use it while the server's execution context exists).
class broadcast_operator {
public:
    broadcast_operator(std::shared_ptr<detail::namespace_impl> nsp, broadcast_flags flags = {})
        : nsp_(std::move(nsp)), flags_(std::move(flags)) {}

    broadcast_operator to(std::string room) const;
    broadcast_operator to(const std::vector<std::string>& rooms) const;
    broadcast_operator in(std::string room) const { return to(std::move(room)); }
    broadcast_operator in(const std::vector<std::string>& rooms) const { return to(rooms); }
    broadcast_operator except(std::string room) const;
    broadcast_operator except(const std::vector<std::string>& rooms) const;
    broadcast_operator local() const;
    broadcast_operator volatile_() const;
    broadcast_operator compress(bool on) const;
    broadcast_operator timeout(std::chrono::milliseconds t) const;

    /// Sends to the selected sockets of every server (this one only after `local()`), and returns without
    /// waiting: local recipients get it queued on their sessions, other servers through the adapter. Any
    /// thread. Throws std::invalid_argument for a reserved event name (`connect`, `disconnect`, ...).
    template <class... Args>
    void emit(std::string_view event, Args&&... args) const {
        emit_arguments(event, make_arguments(std::forward<Args>(args)...));
    }
    void emit_arguments(std::string_view event, arguments args) const;

    /// Emits and collects every recipient's acknowledgement; needs `timeout(...)` (without it the result
    /// is `error::invalid_argument`). On timeout the result holds `sio::error::ack_timeout` and the answers
    /// received so far. Resumes on the awaiting coroutine's executor; the timeout bounds it (cancellation
    /// is not supported). Throws std::invalid_argument (at the call) for a reserved event name.
    template <class... Args>
    [[nodiscard]] boost::asio::awaitable<broadcast_ack_result> emit_with_ack(std::string_view event,
                                                                             Args&&... args) const {
        return emit_with_ack_arguments(std::string(event), make_arguments(std::forward<Args>(args)...));
    }
    /// The awaitable owns copies of everything it needs: the operator may be a temporary.
    [[nodiscard]] boost::asio::awaitable<broadcast_ack_result> emit_with_ack_arguments(std::string event,
                                                                                       arguments args) const;

    /// The local sockets this operator selects, as handles copied now; any thread.
    std::vector<socket> sockets() const;

    // --- utility methods: the selected sockets of every server (this one only after `local()`) ---------
    // Each awaitable owns copies of what it needs (the operator may be a temporary), may be awaited on
    // any executor and resumes on it. Not cancellable: the adapter's request timeout bounds what waits for
    // other servers. Errors are values (the transport's, `error::cluster_timeout`), not exceptions.

    /// The selected sockets join `room(s)`: applied on this server before it resolves, published to the
    /// others.
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_join(std::vector<std::string> rooms) const;
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_join(std::string room) const {
        return sockets_join(std::vector<std::string>{std::move(room)});
    }
    /// The selected sockets leave `room(s)`.
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_leave(std::vector<std::string> rooms) const;
    [[nodiscard]] boost::asio::awaitable<std::error_code> sockets_leave(std::string room) const {
        return sockets_leave(std::vector<std::string>{std::move(room)});
    }
    /// The selected sockets leave the namespace (the client sees "io server disconnect"); with `close`,
    /// their connections end.
    [[nodiscard]] boost::asio::awaitable<std::error_code> disconnect_sockets(bool close = false) const;
    /// The selected sockets of every server, each a snapshot (see remote_socket): a local socket's is
    /// taken on its strand, so this resumes once every selected local socket's strand ran the copy.
    [[nodiscard]] boost::asio::awaitable<fetch_sockets_result> fetch_sockets() const;

    const broadcast_flags& flags() const noexcept { return flags_; }

private:
    static boost::asio::awaitable<broadcast_ack_result>
    emit_with_ack_impl(std::shared_ptr<detail::namespace_impl> nsp, broadcast_flags flags, std::string event,
                       arguments args);
    static boost::asio::awaitable<fetch_sockets_result>
    fetch_impl(std::shared_ptr<detail::namespace_impl> nsp, broadcast_flags flags);

    std::shared_ptr<detail::namespace_impl> nsp_;
    broadcast_flags flags_;
};

} // namespace sio
