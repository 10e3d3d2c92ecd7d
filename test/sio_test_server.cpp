// The Socket.IO server the Node interop tests drive (test/interop/socketio.test.mjs).
// Usage: sio_test_server --port 0 [--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS]
// Prints "listening <port>". Behaviour per namespace ("/", "/custom", and dynamic "/dyn-<digits>"):
//   on connection  emit "welcome" {id, nsp, auth}
//   "echo" ...args              emit "echo" with the same args (binary kept)
//   "ack" ...args (with ack)    ack with the same args
//   "join" room [ack]           join, ack(rooms)
//   "leave" room [ack]          leave, ack(rooms)
//   "to-room" room event ...    io.to(room).emit(event, ...)       (sender included when in the room)
//   "except" room event ...     nsp.except(room).emit(event, ...)
//   "broadcast" event ...       socket.broadcast.emit(event, ...)  (sender excluded)
//   "ask" event ...             socket.timeout(1000).emit_with_ack(event, ...) then emit "asked" {error,
//   args} "ask-all" event ...         nsp.timeout(1000).emit_with_ack(event, ...) then emit "asked-all"
//   {error, responses} "burst" n                   emit "burst" i for i in 0..n-1 "disconnect-me" close
//   socket.disconnect(close)
// Middleware: a CONNECT whose auth has token "bad" is refused: message "unauthorized", data {"reason":"bad
// token"}.
#include <sio/sio.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <cstring>
#include <iostream>

namespace {

sio::arguments tail(const sio::arguments& args, std::size_t from) {
    sio::arguments out;
    out.attachments = args.attachments;
    for (std::size_t i = from; i < args.values.size(); ++i)
        out.values.push_back(args.values[i]);
    return out;
}

boost::json::value rooms_of(const sio::socket& s) {
    boost::json::array a;
    auto rooms = s.rooms();
    std::sort(rooms.begin(), rooms.end());
    for (auto& r : rooms)
        a.emplace_back(r);
    return a;
}

void setup(sio::namespace_ nsp) {
    nsp.use([](sio::socket s) -> std::optional<sio::middleware_error> {
        const auto& auth = s.handshake().auth;
        if (auto it = auth.find("token"); it != auth.end() && it->value() == "bad")
            return sio::middleware_error{"unauthorized", boost::json::object{{"reason", "bad token"}}};
        return std::nullopt;
    });
    nsp.on_connection([nsp](sio::socket socket) {
        socket.emit("welcome", boost::json::object{{"id", socket.id()},
                                                   {"nsp", socket.nsp()},
                                                   {"auth", socket.handshake().auth}});
        socket.on("echo", [](sio::socket s, sio::event& ev) { s.emit_arguments("echo", ev.args); });
        socket.on("ack", [](sio::socket, sio::event& ev) { ev.ack.send(ev.args); });
        socket.on("join", [](sio::socket s, std::string room, sio::ack ack) {
            s.join(room);
            ack(rooms_of(s));
        });
        socket.on("leave", [](sio::socket s, std::string room, sio::ack ack) {
            s.leave(room);
            ack(rooms_of(s));
        });
        socket.on("to-room", [nsp](sio::socket, sio::event& ev) {
            nsp.to(ev.args.get<std::string>(0)).emit_arguments(ev.args.get<std::string>(1), tail(ev.args, 2));
        });
        socket.on("except", [nsp](sio::socket, sio::event& ev) {
            nsp.except(ev.args.get<std::string>(0))
                .emit_arguments(ev.args.get<std::string>(1), tail(ev.args, 2));
        });
        socket.on("broadcast", [](sio::socket s, sio::event& ev) {
            s.broadcast().emit_arguments(ev.args.get<std::string>(0), tail(ev.args, 1));
        });
        socket.on("ask", [](sio::socket s, sio::event ev) -> boost::asio::awaitable<void> {
            auto r = co_await s.timeout(std::chrono::milliseconds(1000))
                         .emit_with_ack_arguments(ev.args.get<std::string>(0), tail(ev.args, 1));
            boost::json::object out;
            out["error"] = r.error ? boost::json::value(r.error.message()) : nullptr;
            out["args"] = r.args.values;
            sio::arguments reply;
            reply.values.push_back(std::move(out));
            reply.attachments = std::move(r.args.attachments);
            s.emit_arguments("asked", std::move(reply));
        });
        socket.on("ask-all", [nsp](sio::socket s, sio::event ev) -> boost::asio::awaitable<void> {
            auto r = co_await nsp.timeout(std::chrono::milliseconds(1000))
                         .emit_with_ack_arguments(ev.args.get<std::string>(0), tail(ev.args, 1));
            boost::json::object out;
            out["error"] = r.error ? boost::json::value(r.error.message()) : nullptr;
            boost::json::array responses;
            for (auto& resp : r.responses)
                responses.push_back(resp.values);
            out["responses"] = std::move(responses);
            s.emit("asked-all", out);
        });
        socket.on("burst", [](sio::socket s, int n) {
            for (int i = 0; i < n; ++i)
                s.emit("burst", i);
        });
        socket.on("volatile-burst", [](sio::socket s, int n) {
            for (int i = 0; i < n; ++i)
                s.volatile_().emit("volatile", i);
            s.emit("volatile-done", n);
        });
        socket.on("disconnect-me", [](sio::socket s, bool close) { s.disconnect(close); });
    });
}

} // namespace

int main(int argc, char** argv) {
    sio::server_options opts;
    std::uint16_t port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const long v = std::strtol(argv[i + 1], nullptr, 10);
        if (!std::strcmp(argv[i], "--port"))
            port = static_cast<std::uint16_t>(v);
        else if (!std::strcmp(argv[i], "--ping-interval"))
            opts.engine.ping_interval = std::chrono::milliseconds(v);
        else if (!std::strcmp(argv[i], "--ping-timeout"))
            opts.engine.ping_timeout = std::chrono::milliseconds(v);
        else if (!std::strcmp(argv[i], "--connect-timeout"))
            opts.connect_timeout = std::chrono::milliseconds(v);
    }
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor(), opts);
    setup(io.of("/"));
    setup(io.of("/custom"));
    setup(io.of(std::regex("/dyn-[0-9]+")));
    if (auto ec = io.listen("127.0.0.1", port)) {
        std::cerr << "listen: " << ec.message() << "\n";
        return 1;
    }
    std::cout << "listening " << io.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) {
        io.close();
        ioc.stop();
    });
    ioc.run();
}
