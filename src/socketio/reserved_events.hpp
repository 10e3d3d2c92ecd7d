// The event names the Socket.IO API reserves, and the errors that refuse them at registration and at emit.
#pragma once

#include <sio/protocol/parser.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace sio::detail {

/// Throws std::invalid_argument when `event` is a name a socket reserves (connect, connect_error,
/// disconnect, disconnecting, newListener, removeListener): a handler registered under it would never
/// run, as the library reports those through their own API, named in the message.
inline void refuse_reserved_socket_listener(std::string_view event) {
    if (!protocol::is_reserved_event(event))
        return;
    std::string use;
    if (event == "disconnect")
        use = "register it with socket::on_disconnect()";
    else if (event == "disconnecting")
        use = "register it with socket::on_disconnecting()";
    else if (event == "connect")
        use = "a socket is connected before its handlers are registered: use namespace_::on_connection()";
    else if (event == "connect_error")
        use = "it is a client-side event: refuse connections from a namespace middleware (namespace_::use())";
    else
        use = "it is reserved for event emitters' own use";
    throw std::invalid_argument("\"" + std::string(event) + "\" is a reserved event name: " + use);
}

/// Throws std::invalid_argument for the names a namespace reserves (connect, connection, new_namespace),
/// which cannot be the name of a server-side event.
inline void refuse_reserved_namespace_listener(std::string_view event) {
    if (event == "connection" || event == "connect")
        throw std::invalid_argument("\"" + std::string(event) +
                                    "\" is a reserved event name: register connection handlers with "
                                    "on_connection() (namespace_::on() handles server-side events)");
    if (event == "new_namespace")
        throw std::invalid_argument("\"new_namespace\" is a reserved event name (namespace_::on() handles "
                                    "server-side events): namespaces are created by server::of()");
}

/// Throws std::invalid_argument when `event` may not be emitted to clients (the socket's reserved
/// names, which a client would take for its own connection events), like the reference's emit.
inline void refuse_reserved_emit(std::string_view event) {
    if (protocol::is_reserved_event(event))
        throw std::invalid_argument("\"" + std::string(event) +
                                    "\" is a reserved event name: it cannot be emitted");
}

} // namespace sio::detail
