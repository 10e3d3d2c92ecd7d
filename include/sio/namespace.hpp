// sio — a namespace: a communication channel with its own sockets, rooms, middlewares and handlers.
#pragma once

#include <sio/broadcast.hpp>
#include <sio/socket.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sio {

namespace detail {
class namespace_impl;
}

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

    /// Called for every new socket, on its strand, after the client got its CONNECT answer.
    void on_connection(connection_handler handler) const;
    /// Same, with a coroutine.
    void on_connection(std::function<boost::asio::awaitable<void>(socket)> handler) const;

    /// Adds a connect middleware (coroutine form).
    void use(middleware mw) const;
    /// Adds a connect middleware (plain form).
    void use(std::function<std::optional<middleware_error>(socket)> mw) const;

    // Broadcasting to the namespace.
    broadcast_operator to(std::string room) const { return ops().to(std::move(room)); }
    broadcast_operator to(const std::vector<std::string>& rooms) const { return ops().to(rooms); }
    broadcast_operator in(std::string room) const { return ops().in(std::move(room)); }
    broadcast_operator except(std::string room) const { return ops().except(std::move(room)); }
    broadcast_operator local() const { return ops().local(); }
    broadcast_operator volatile_() const { return ops().volatile_(); }
    broadcast_operator compress(bool on) const { return ops().compress(on); }
    broadcast_operator timeout(std::chrono::milliseconds t) const { return ops().timeout(t); }
    template <class... Args>
    void emit(std::string_view event, Args&&... args) const {
        ops().emit(event, std::forward<Args>(args)...);
    }

    /// The sockets connected to this namespace on this server (for a parent namespace: its children's).
    std::vector<socket> sockets() const { return ops().sockets(); }

    const std::shared_ptr<detail::namespace_impl>& impl() const noexcept { return impl_; }

private:
    broadcast_operator ops() const { return broadcast_operator(impl_); }
    std::shared_ptr<detail::namespace_impl> impl_;
};

} // namespace sio
