// Snippets of docs/rooms.md.
#include <sio/sio.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "snippets.hpp"

namespace snippets {

void rooms_join(sio::server& io) {
    // [snippet rooms-join]
    io.on_connection([](sio::socket socket) {
        socket.join("lobby");
        socket.join({"news", "sports"}); // several at once
        socket.on("enter", [](sio::socket s, std::string room, sio::ack ack) {
            s.join(room);
            ack(s.rooms()); // e.g. [id, "lobby", "news", "sports", room]: a socket is in its own id room
        });
        socket.on("exit", [](sio::socket s, std::string room) { s.leave(room); });
    });
    // [end]
}

void rooms_emit(sio::server& io, sio::socket socket) {
    // [snippet rooms-emit]
    io.to("lobby").emit("message", "to everyone in the lobby");
    io.to("news").to("sports").emit("headline", "once per socket, even in both rooms");
    io.in(std::vector<std::string>{"news", "sports"}).emit("headline", "the same");
    io.to("lobby").except("muted").emit("message", "lobby minus the muted");
    socket.to("lobby").emit("message", "the lobby, without the sender");
    io.to(socket.id()).emit("private", "only this socket (its own room)");
    // [end]
}

void rooms_user(sio::server& io) {
    // [snippet rooms-user]
    // Every tab and device of one user joins the user's room: one emit reaches them all.
    io.on_connection([&io](sio::socket socket) {
        auto user = socket.handshake().auth.find("user");
        if (user == socket.handshake().auth.end() || !user->value().is_string())
            return;
        std::string room = "user:" + std::string(user->value().get_string());
        socket.join(room);
        io.to(room).emit("devices", io.in(room).sockets().size());
    });
    // [end]
}

void rooms_disconnecting(sio::server& io) {
    // [snippet rooms-disconnecting]
    io.on_connection([&io](sio::socket socket) {
        socket.on_disconnecting([&io](sio::socket s, sio::disconnect_reason reason) {
            for (const std::string& room : s.rooms()) // still readable here
                if (room != s.id())
                    io.to(room).emit("left", s.id(), sio::to_string(reason));
        });
        socket.on_disconnect([](sio::socket s, sio::disconnect_reason) {
            std::cout << s.id() << " rooms: " << s.rooms().size() << "\n"; // 0: rooms are left
        });
    });
    // [end]
}

} // namespace snippets
