// Private to the library: how the library reaches the state behind the public Socket.IO handles
// (`sio::socket`, `sio::namespace_`), which declare this struct their friend. Not a public interface.
#pragma once

#include <sio/namespace.hpp>
#include <sio/socket.hpp>

#include <memory>

namespace sio {
class server;
} // namespace sio

namespace sio::detail {

class server_state;

struct access {
    static const std::shared_ptr<server_state>& state(const server& s) noexcept;
    static const std::shared_ptr<socket_impl>& state(const socket& s) noexcept { return s.impl_; }
    static const std::shared_ptr<namespace_impl>& state(const namespace_& n) noexcept { return n.impl_; }
};

} // namespace sio::detail
