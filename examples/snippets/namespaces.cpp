// Snippets of docs/namespaces.md.
#include <sio/sio.hpp>

#include <iostream>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "snippets.hpp"

namespace snippets {

void main_namespace(sio::server& io) {
    // [snippet nsp-main]
    // Two connection handlers for "/": io.on_connection is io.of("/").on_connection.
    io.on_connection([](sio::socket socket) { socket.emit("hi", "from /"); });
    io.of("/").on_connection([](sio::socket socket) { socket.emit("hi", "from / again"); });
    // [end]
}

void custom_namespace(sio::server& io) {
    // [snippet nsp-custom]
    sio::namespace_ admin = io.of("/admin"); // created on first use; a cheap, copyable handle
    admin.on_connection([admin](sio::socket socket) {
        std::cout << socket.id() << " joined " << socket.nsp() << "\n"; // "/admin"
        admin.emit("admins", admin.sockets().size());                   // every socket of "/admin"
    });
    // [end]
}

void dynamic_regex(sio::server& io) {
    // [snippet nsp-dynamic-regex]
    sio::namespace_ workspaces = io.of(std::regex("^/workspace-[0-9]+$"));
    workspaces.on_connection([](sio::socket socket) {
        std::cout << "connected to " << socket.nsp() << "\n"; // the child, e.g. "/workspace-42"
    });
    // [end]
}

void dynamic_predicate(sio::server& io) {
    // [snippet nsp-dynamic-predicate]
    auto teams = io.of([](std::string_view name, const boost::json::object& auth) {
        return name.starts_with("/team-") && auth.contains("token");
    });
    teams.on_connection([](sio::socket socket) { socket.emit("welcome", socket.nsp()); });
    // A parent broadcasts to every child namespace it created:
    teams.emit("announcement", "maintenance at noon");
    // [end]
}

void namespace_middleware(sio::server& io) {
    // [snippet nsp-connect-error]
    io.of("/admin").use([](sio::socket socket) -> std::optional<sio::middleware_error> {
        if (socket.handshake().auth.contains("token"))
            return std::nullopt; // go on with the next middleware, then the connection handler
        return sio::middleware_error{"not authorized", boost::json::object{{"hint", "send a token"}}};
    });
    // [end]
}

} // namespace snippets
