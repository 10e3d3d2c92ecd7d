// A socket returned by fetch_sockets: local ones are used directly, remote ones through the adapter.
#include <sio/broadcast.hpp>

#include <boost/asio/awaitable.hpp>

namespace sio {

// --- remote_socket ---------------------------------------------------------------------------------------

broadcast_operator remote_socket::only_this() const {
    broadcast_flags f;
    f.rooms.push_back(details_.id);
    if (timeout_)
        f.timeout = timeout_;
    return broadcast_operator(nsp_, std::move(f));
}

void remote_socket::emit_arguments(std::string_view event, arguments args) const {
    if (local_)
        local_.emit_arguments(event, std::move(args));
    else
        only_this().emit_arguments(event, std::move(args));
}

namespace {

boost::asio::awaitable<ack_result> remote_emit_with_ack(broadcast_operator op, std::string event,
                                                        arguments args) {
    auto r = co_await op.emit_with_ack_arguments(std::move(event), std::move(args));
    if (r.error)
        co_return ack_result{r.error, {}};
    if (r.responses.empty())
        co_return ack_result{make_error_code(error::not_connected), {}};
    co_return ack_result{{}, std::move(r.responses.front())};
}

// A local socket's operations run when awaited, like the remote ones.
boost::asio::awaitable<std::error_code> join_local(socket s, std::vector<std::string> rooms) {
    s.join(rooms);
    co_return std::error_code{};
}
boost::asio::awaitable<std::error_code> leave_local(socket s, std::string room) {
    s.leave(room);
    co_return std::error_code{};
}
boost::asio::awaitable<std::error_code> disconnect_local(socket s, bool close) {
    s.disconnect(close);
    co_return std::error_code{};
}

} // namespace

boost::asio::awaitable<ack_result> remote_socket::emit_with_ack_arguments(std::string event,
                                                                          arguments args) const {
    if (local_ && timeout_)
        return local_.timeout(*timeout_).emit_with_ack_arguments(std::move(event), std::move(args));
    return remote_emit_with_ack(only_this(), std::move(event), std::move(args));
}

boost::asio::awaitable<std::error_code> remote_socket::join(std::vector<std::string> rooms) const {
    if (local_)
        return join_local(local_, std::move(rooms));
    return only_this().sockets_join(std::move(rooms));
}

boost::asio::awaitable<std::error_code> remote_socket::leave(std::string room) const {
    if (local_)
        return leave_local(local_, std::move(room));
    return only_this().sockets_leave(std::move(room));
}

boost::asio::awaitable<std::error_code> remote_socket::disconnect(bool close) const {
    if (local_)
        return disconnect_local(local_, close);
    return only_this().disconnect_sockets(close);
}

} // namespace sio
