// Snippets of docs/utility-methods.md.
#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "snippets.hpp"

namespace snippets {

using namespace std::chrono_literals;

// [snippet util-rooms]
boost::asio::awaitable<void> tidy_up(sio::server& io, std::string sid, std::vector<std::string> rooms) {
    // Every socket in "room1" joins "room2", on every server.
    std::error_code ec = co_await io.in("room1").sockets_join("room2");
    // Sockets of /admin in "room1" but not in "room2", on this server only, leave the namespace.
    ec = co_await io.of("/admin").in("room1").except("room2").local().disconnect_sockets();
    // One socket, by id (every socket is in the room named after its id), leaves several rooms.
    ec = co_await io.in(sid).sockets_leave(rooms);
    // Close the Engine.IO connections of everyone in "banned".
    ec = co_await io.in("banned").disconnect_sockets(true);
    if (ec)
        std::cerr << "not every server was told: " << ec.message() << "\n";
}
// [end]

// [snippet util-fetch]
boost::asio::awaitable<void> who_is_there(sio::server& io) {
    sio::fetch_sockets_result sockets = co_await io.in("room1").fetch_sockets();
    if (sockets.error) // sio::error::cluster_timeout: sockets.answered of sockets.expected servers answered
        std::cerr << sockets.error.message() << ", silent: " << sockets.silent.size() << "\n";
    for (const sio::remote_socket& s : sockets) {
        std::cout << s.id() << " from " << s.handshake().address << " in " << s.rooms().size() << " rooms\n";
        s.emit("hello", "from the server");
        sio::ack_result answer = co_await s.timeout(2s).emit_with_ack("are-you-there");
        if (!answer.error)
            co_await s.join("answered");
    }
}
// [end]

// [snippet util-handler]
boost::asio::awaitable<void> promote(sio::namespace_ nsp, sio::event ev) {
    const std::error_code ec = co_await nsp.in(ev.args.get<std::string>(0)).sockets_join("admins");
    ev.ack(ec ? ec.message() : "ok");
}

void register_promote(sio::server& io) {
    sio::namespace_ nsp = io.of("/");
    nsp.on_connection([nsp](sio::socket socket) {
        socket.on("promote", [nsp](sio::socket, sio::event ev) { return promote(nsp, std::move(ev)); });
    });
}
// [end]

void spawn_from_plain_code(boost::asio::io_context& ioc, sio::server& io) {
    // [snippet util-co-spawn]
    boost::asio::co_spawn(ioc, io.in("room1").sockets_join("room2"),
                          [](std::exception_ptr, std::error_code ec) {
                              if (ec)
                                  std::cerr << ec.message() << "\n";
                          });
    // [end]
}

void server_side_handlers(sio::server& io) {
    // [snippet util-server-side-on]
    // Runs on the server's executor (not a socket strand); ev.ack(...) answers.
    io.on("cache-invalidate",
          [](sio::event& ev) { std::cout << "drop " << ev.args.get<std::string>(0) << "\n"; });
    io.on("load", [](sio::event& ev) { ev.ack(42); });
    io.of("/admin").on("audit", [](sio::event& ev) { ev.ack("done"); });
    // [end]
}

// [snippet util-server-side-emit]
boost::asio::awaitable<void> talk_to_the_cluster(sio::server& io) {
    std::error_code ec = co_await io.server_side_emit("cache-invalidate", "user:42");
    sio::server_side_responses r = co_await io.server_side_emit_with_ack("load", 1s);
    // r.responses: one answer per server that answered, in arrival order; get<T>(0) reads it.
    // r.error == sio::error::cluster_timeout when r.answered < r.expected; r.silent names the others.
    for (const sio::arguments& answer : r.responses)
        std::cout << answer.get<int>(0) << "\n";
    std::size_t servers = co_await io.server_count();
    std::cout << servers << " servers, " << (ec ? ec.message() : "sent") << "\n";
}
// [end]

} // namespace snippets
