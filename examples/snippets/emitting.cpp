// Snippets of docs/emitting.md.
#include <sio/sio.hpp>

#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "snippets.hpp"

namespace snippets {

using namespace std::chrono_literals;

// [snippet emit-struct]
// Any type Boost.JSON converts can travel: give yours a pair of tag_invoke overloads.
struct position {
    double x = 0;
    double y = 0;
};

void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const position& p) {
    v = {{"x", p.x}, {"y", p.y}};
}

position tag_invoke(boost::json::value_to_tag<position>, const boost::json::value& v) {
    const auto& o = v.as_object();
    return {boost::json::value_to<double>(o.at("x")), boost::json::value_to<double>(o.at("y"))};
}
// [end]

void emit_basic(sio::socket socket) {
    // [snippet emit-basic]
    socket.emit("hello");                                  // no argument
    socket.emit("hello", "world", 42, 1.5, true, nullptr); // several arguments of any JSON type
    socket.emit("user", boost::json::object{{"name", "alice"}, {"tags", boost::json::array{"a", "b"}}});
    socket.emit("scores", std::vector<int>{1, 2, 3}); // containers convert too
    socket.emit("moved", position{1.5, -2});          // and your own types (below)
    // [end]
}

void listen_events(sio::server& io) {
    // [snippet emit-listen]
    io.on_connection([](sio::socket socket) {
        // Typed: the arguments are converted with boost::json::value_to (an event that does not convert
        // is dropped).
        socket.on("move", [](sio::socket s, position p, std::string label) {
            s.broadcast().emit("moved", p, label);
        });
        // Raw: the event name and its arguments as JSON.
        socket.on("log", [](sio::socket, sio::event& ev) {
            std::cout << ev.name << " " << boost::json::serialize(ev.args.values) << "\n";
        });
    });
    // [end]
}

void answer_acks(sio::server& io) {
    // [snippet emit-ack-answer]
    io.on_connection([](sio::socket socket) {
        // Client: socket.emit("add", 1, 2, (sum) => ...)  or  await socket.emitWithAck("add", 1, 2)
        socket.on("add", [](sio::socket, int a, int b, sio::ack ack) { ack(a + b); });
        // Raw form: ev.ack is empty when the client asked for no acknowledgement.
        socket.on("save", [](sio::socket, sio::event& ev) {
            if (ev.ack)
                ev.ack("saved", ev.args.size());
        });
    });
    // [end]
}

// [snippet emit-ack-ask]
boost::asio::awaitable<void> ask_name(sio::socket socket) {
    // Client: socket.on("name?", (callback) => callback("alice"))
    sio::ack_result r = co_await socket.timeout(5s).emit_with_ack("name?");
    if (r.error == sio::error::ack_timeout)
        co_return; // no answer within 5 s
    if (r.error == sio::error::not_connected)
        co_return; // the socket went away first
    std::cout << "client says its name is " << r.args.get<std::string>(0) << "\n";
}
// [end]

/// A helper of the application that takes a callback.
boost::asio::awaitable<void> for_each_name(std::vector<std::string> names,
                                           std::function<void(const std::string&)> f) {
    for (const auto& name : names)
        f(name);
    co_return;
}

// [snippet emit-gcc12]
boost::asio::awaitable<void> greet_all(sio::socket socket, std::vector<std::string> names) {
    // Not: co_await for_each_name(names, [socket](const std::string& n) { socket.emit("hello", n); });
    std::function<void(const std::string&)> greet = [socket](const std::string& name) {
        socket.emit("hello", name);
    };
    co_await for_each_name(std::move(names), std::move(greet));
}
// [end]

void register_ask_name(sio::server& io) {
    // [snippet emit-ack-ask-register]
    io.on_connection([](sio::socket socket) -> boost::asio::awaitable<void> { co_await ask_name(socket); });
    // [end]
}

void binary_data(sio::server& io) {
    // [snippet emit-binary]
    io.on_connection([](sio::socket socket) {
        std::string png = "\x89PNG...";
        // Anywhere in the arguments, sio::binary travels as an attachment (a Buffer / ArrayBuffer in JS).
        socket.emit("image", boost::json::object{{"name", "logo.png"}}, sio::binary(png));
        socket.on("upload", [](sio::socket, std::string name, sio::binary data) {
            std::cout << name << ": " << data.size() << " bytes\n";
        });
    });
    // [end]
}

void catch_all(sio::server& io) {
    // [snippet emit-catch-all]
    io.on_connection([](sio::socket socket) {
        socket.on_any([](sio::socket s, const sio::event& ev) {
            std::cout << s.id() << " sent " << ev.name << " with " << ev.args.size() << " arguments\n";
        });
        socket.on_any_outgoing([](sio::socket s, std::string_view event, const sio::arguments& args) {
            std::cout << s.id() << " receives " << event << " " << boost::json::serialize(args.values)
                      << "\n";
        });
    });
    // [end]
}

void socket_flags(sio::socket socket) {
    // [snippet emit-flags]
    socket.volatile_().emit("position", 1.5, 2.5); // may be dropped when the transport is busy
    socket.compress(false).emit("jpeg", sio::binary(std::string(1000, 'x'))); // already compressed
    bool queued = socket.emit("hello"); // false once the socket is disconnected
    // [end]
    (void)queued;
}

// Stands for the application's own asynchronous work (a database call, ...).
boost::asio::awaitable<void> store(std::string user, sio::event ev) {
    std::cout << user << " stores " << ev.name << "\n";
    co_return;
}

// [snippet emit-session]
boost::asio::awaitable<void> session(sio::socket socket) {
    auto hello = co_await socket.receive("hello"); // waits for the first "hello"
    if (!hello)
        co_return; // disconnected first
    const auto user = hello->args.get<std::string>(0);
    socket.emit("welcome", user);
    while (auto ev = co_await socket.receive()) { // then every other event, in arrival order
        co_await store(user, *ev);                // await anything between two events
        if (ev->ack)
            ev->ack("stored");
    }
    std::cout << user << " left: " << sio::to_string(*socket.disconnection_reason()) << "\n";
}
// [end]

void register_session(sio::server& io) {
    // [snippet emit-session-register]
    io.on_connection(session);
    // [end]
}

// [snippet emit-session-idle]
boost::asio::awaitable<void> quiet_clients_leave(sio::socket socket) {
    socket.on("typing", [](sio::socket s, sio::event&) { s.broadcast().emit("typing", s.id()); });
    // Each receive() waits at most 5 minutes: a client that says nothing for that long is disconnected.
    while (auto ev = co_await socket.receive(std::chrono::minutes(5)))
        socket.broadcast().emit_arguments(ev->name, std::move(ev->args));
    if (socket.connected())
        socket.disconnect();
}
// [end]

} // namespace snippets
