// Snippets of docs/broadcasting.md.
#include <sio/sio.hpp>

#include <iostream>
#include <string>

#include "snippets.hpp"

namespace snippets {

using namespace std::chrono_literals;

void broadcast_targets(sio::server& io, sio::socket socket) {
    // [snippet bc-targets]
    io.emit("hello", "everyone");                       // every socket of "/"
    io.of("/admin").emit("hello", "every admin");       // every socket of "/admin"
    socket.broadcast().emit("hello", "all but me");     // every socket of the namespace but the sender
    io.to("room1").emit("hello", "room1");              // the sockets in room1
    io.to("room1").to("room2").emit("hello", "either"); // in room1 or room2, each once
    io.except("room3").emit("hello", "not room3");      // everyone but the sockets in room3
    socket.to("room1").except("room2").emit("hello", "room1, not room2, not me");
    // [end]
}

void broadcast_flags(sio::server& io) {
    // [snippet bc-flags]
    io.local().emit("hello", "this server's sockets only"); // with a cluster adapter: not published
    io.volatile_().emit("tick", 42);        // dropped for sockets whose transport cannot write right now
    io.compress(false).emit("blob", "..."); // kept out of the HTTP compression of polling responses
    io.to("room1").volatile_().local().emit("position", 1.5, 2.5); // flags combine
    // [end]
}

// [snippet bc-acks]
boost::asio::awaitable<void> poll_room(sio::server& io) {
    sio::broadcast_ack_result r = co_await io.to("voters").timeout(5s).emit_with_ack("vote", "pizza?");
    if (r.error == sio::error::ack_timeout)
        std::cerr << "some voters did not answer in time\n";
    for (const sio::arguments& answer : r.responses) // one per client that answered, in arrival order
        std::cout << boost::json::serialize(answer.values) << "\n";
}
// [end]

// [snippet bc-acks-from-socket]
boost::asio::awaitable<void> ask_the_others(sio::socket socket) {
    sio::broadcast_ack_result r = co_await socket.broadcast().timeout(2s).emit_with_ack("ready?");
    socket.emit("others-ready", r.responses.size());
}
// [end]

void register_ask_the_others(sio::server& io) {
    // [snippet bc-acks-handler]
    io.on_connection([](sio::socket socket) {
        socket.on("check", [](sio::socket s, sio::event) { return ask_the_others(s); });
    });
    // [end]
}

} // namespace snippets
