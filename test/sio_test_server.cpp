// The Socket.IO server the Node interop tests drive (test/interop/socketio.test.mjs).
// Usage: sio_test_server --port 0 [--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS]
//                        [--redis-port N] [--tls-cert PEM --tls-key PEM]  (HTTPS/WSS with that identity)
//                        [--parser json|msgpack]  (the packet codec; json by default)
//                        [--max-received-events N]  (server_options::max_received_events)
//                        [--allow-eio3 1]  (engine_options::allow_eio3: socket.io-client 2.x served)
// Prints "listening <port>". Behaviour per namespace ("/", "/custom", and dynamic "/dyn-<digits>"):
//   on connection               emit "welcome" {id, nsp, auth}
//   "echo" ...args              emit "echo" with the same args (binary kept)
//   "ack" ...args (with ack)    ack with the same args
//   "join" room [ack]           join, ack(rooms)
//   "leave" room [ack]          leave, ack(rooms)
//   "to-room" room event ...    io.to(room).emit(event, ...)       (sender included when in the room)
//   "except" room event ...     nsp.except(room).emit(event, ...)
//   "broadcast" event ...       socket.broadcast.emit(event, ...)  (sender excluded)
//   "ask" event ...             socket.timeout(1000).emit_with_ack(event, ...) then emit "asked"
//                               {error, args}
//   "ask-all" event ...         nsp.timeout(1000).emit_with_ack(event, ...) then emit "asked-all"
//                               {error, responses}
//   "burst" n                   emit "burst" i for i in 0..n-1
//   "volatile-burst" n          volatile emit "volatile" i for i in 0..n-1, then emit "volatile-done" n
//   "disconnect-me" close       socket.disconnect(close)
//   "util" request (with ack)   a utility method of the namespace, acked once its awaitable resolved.
//                               request: {op, in: [rooms], except: [rooms], local: bool, ...}; the
//                               sockets are nsp.in(in).except(except) (every socket when `in` is empty
//                               or absent), then .local() when `local`. Per op, extra fields -> ack:
//       "join"   rooms: [..]    sockets_join(rooms)             -> {error}
//       "leave"  rooms: [..]    sockets_leave(rooms)            -> {error}
//       "disconnect" close      disconnect_sockets(close)       -> {error}
//       "fetch"                 fetch_sockets()                 -> {error, expected, answered, silent,
//                               sockets: [{id, rooms (sorted), local, auth}]}
//       "count"                 server_count()                  -> {count}
//       "server-emit" event args [timeout]  server_side_emit(event, ...args), or with `timeout` (ms)
//                               server_side_emit_with_ack -> {error, expected, answered, silent,
//                               responses}; without it -> {error}
//       anything else           -> {error: "unknown op"}
//     `error` is null or the error_code's message (a socket that disconnects itself gets no ack).
//     "in"/"except"/"local" are ignored by "count" and "server-emit". On the dynamic namespaces the namespace
//     is the parent: every child is concerned.
//       "emit"  event args      emit(event, ...args)            -> {error}
//       "ask-all" event args [timeout]  timeout(t, 2000 ms by default).emit_with_ack -> {error, responses}
//     fetch also reports each remote socket's `data` (null for local sockets).
//   "set-data" value [ack]      socket.data() = value, ack()
// Server-side events (from other servers; never fired with one server): "server-ping" acks "pong";
// "note" ...args is emitted to this server's sockets of the namespace as "noted" ...args.
// "/session": a session coroutine (socket::receive(); see setup_session below), used by session.test.mjs.
// --redis-port N: the namespaces use the Redis adapter on 127.0.0.1:N (requests timeout 2 s).
// --redis-streams-port N: the Redis streams adapter instead (requests timeout 2 s, default stream names);
// --redis-streams-sharded 1 before it: with use_sharded_pubsub.
// --redis-sharded-mode M --redis-sharded-port N: the sharded Redis adapter instead (M: 0 static,
// 1 dynamic, 2 dynamic-private; the mode first).
// Room events of "/" and "/custom" (adapter().on_create_room, ...) are emitted to the room
// "room-events" of the same namespace as "room-event" with ("create", room), ("delete", room),
// ("join", room, sid) or ("leave", room, sid).
// --recovery MS: connection state recovery on (sessions kept MS ms); then "welcome" also carries
// `recovered`, `middlewares` (how many times the connect middleware ran so far, server-wide) and `data`.
// With --recovery, a first connection whose auth has "quiet" gets no "welcome".
// --recovery-run-middlewares 1 (after --recovery): a recovered socket goes through the middlewares.
// Middleware: a CONNECT whose auth has token "bad" is refused: message "unauthorized", data
// {"reason": "bad token"}; token "bare": message "unauthorized", no data.
#include <sio/adapter/redis.hpp>
#include <sio/adapter/redis_sharded.hpp>
#include <sio/adapter/redis_streams.hpp>
#include <sio/sio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

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

// --- "util": the utility methods -------------------------------------------------------------------------

/// A "util" request, parsed outside the coroutine (keeps JSON handling out of the coroutine frame).
struct util_request {
    std::string op;
    std::vector<std::string> in, except, rooms;
    bool local = false;
    bool close = false;
    std::string event;
    sio::arguments args;
    std::optional<std::chrono::milliseconds> timeout;
};

std::vector<std::string> strings_at(const boost::json::object& o, std::string_view key) {
    std::vector<std::string> out;
    if (const auto* v = o.if_contains(key); v && v->is_array())
        for (const auto& x : v->as_array())
            if (x.is_string())
                out.emplace_back(x.as_string());
    return out;
}

bool bool_at(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_bool() && v->as_bool();
}

util_request parse_util(const sio::arguments& args) {
    util_request r;
    if (args.values.empty() || !args.values[0].is_object())
        return r;
    const auto& o = args.values[0].as_object();
    if (const auto* v = o.if_contains("op"); v && v->is_string())
        r.op = v->as_string();
    r.in = strings_at(o, "in");
    r.except = strings_at(o, "except");
    r.rooms = strings_at(o, "rooms");
    r.local = bool_at(o, "local");
    r.close = bool_at(o, "close");
    if (const auto* v = o.if_contains("event"); v && v->is_string())
        r.event = v->as_string();
    if (const auto* v = o.if_contains("args"); v && v->is_array()) {
        r.args.values = v->as_array();
        r.args.attachments = args.attachments; // placeholders keep their numbers
    }
    if (const auto* v = o.if_contains("timeout"); v && v->is_number())
        r.timeout = std::chrono::milliseconds(v->to_number<std::int64_t>());
    return r;
}

/// The sockets a request selects: `nsp.in(in).except(except)`, then `.local()`.
sio::broadcast_operator select(const sio::namespace_& nsp, const util_request& r) {
    auto op = nsp.in(r.in).except(r.except);
    if (r.local)
        op = op.local();
    return op;
}

boost::json::value error_json(std::error_code ec) {
    if (!ec)
        return nullptr;
    return boost::json::value(ec.message());
}

boost::json::object status_json(const sio::cluster_status& st) {
    boost::json::object o;
    o["error"] = error_json(st.error);
    o["expected"] = st.expected;
    o["answered"] = st.answered;
    boost::json::array silent;
    for (const auto& id : st.silent)
        silent.emplace_back(id);
    o["silent"] = std::move(silent);
    return o;
}

boost::json::object fetch_json(const sio::fetch_sockets_result& result) {
    auto o = status_json(result);
    boost::json::array list;
    for (const sio::remote_socket& s : result) {
        boost::json::object entry;
        entry["id"] = s.id();
        auto rooms = s.rooms();
        std::sort(rooms.begin(), rooms.end());
        boost::json::array a;
        for (auto& r : rooms)
            a.emplace_back(r);
        entry["rooms"] = std::move(a);
        entry["local"] = static_cast<bool>(s.local());
        entry["auth"] = s.handshake().auth;
        // A remote socket's data travelled with it; a local one's belongs to its strand (not read here).
        entry["data"] = s.local() ? boost::json::value(nullptr) : s.data();
        list.push_back(std::move(entry));
    }
    o["sockets"] = std::move(list);
    return o;
}

boost::json::object responses_json(const sio::server_side_responses& r) {
    auto o = status_json(r);
    boost::json::array responses;
    for (const auto& resp : r.responses)
        responses.push_back(resp.values);
    o["responses"] = std::move(responses);
    return o;
}

boost::json::object ask_all_json(const sio::broadcast_ack_result& r) {
    boost::json::object o;
    o["error"] = error_json(r.error);
    boost::json::array responses;
    for (const auto& resp : r.responses)
        responses.push_back(resp.values);
    o["responses"] = std::move(responses);
    return o;
}

/// Runs one "util" request and acks the outcome. A named coroutine taking its state by value.
boost::asio::awaitable<void> util(sio::namespace_ nsp, sio::event ev) {
    const util_request req = parse_util(ev.args);
    const sio::broadcast_operator target = select(nsp, req);
    boost::json::object out;
    if (req.op == "join") {
        const std::error_code ec = co_await target.sockets_join(req.rooms);
        out["error"] = error_json(ec);
    } else if (req.op == "leave") {
        const std::error_code ec = co_await target.sockets_leave(req.rooms);
        out["error"] = error_json(ec);
    } else if (req.op == "disconnect") {
        const std::error_code ec = co_await target.disconnect_sockets(req.close);
        out["error"] = error_json(ec);
    } else if (req.op == "fetch") {
        const sio::fetch_sockets_result result = co_await target.fetch_sockets();
        out = fetch_json(result);
    } else if (req.op == "count") {
        const std::size_t count = co_await nsp.server_count();
        out["count"] = count;
    } else if (req.op == "server-emit" && req.timeout) {
        const sio::server_side_responses r =
            co_await nsp.server_side_emit_with_ack_arguments(req.event, req.args, *req.timeout);
        out = responses_json(r);
    } else if (req.op == "server-emit") {
        const std::error_code ec = co_await nsp.server_side_emit_arguments(req.event, req.args);
        out["error"] = error_json(ec);
    } else if (req.op == "emit") {
        target.emit_arguments(req.event, req.args);
        out["error"] = nullptr;
    } else if (req.op == "ask-all") {
        const std::chrono::milliseconds timeout =
            req.timeout ? *req.timeout : std::chrono::milliseconds(2000);
        const sio::broadcast_ack_result r =
            co_await target.timeout(timeout).emit_with_ack_arguments(req.event, req.args);
        out = ask_all_json(r);
    } else {
        out["error"] = "unknown op";
    }
    ev.ack(out);
}

/// Reports the room events of `nsp` to the sockets in its room "room-events".
void report_room_events(sio::namespace_ nsp) {
    auto& a = nsp.adapter();
    a.on_create_room(
        [nsp](const std::string& room) { nsp.to("room-events").emit("room-event", "create", room); });
    a.on_delete_room(
        [nsp](const std::string& room) { nsp.to("room-events").emit("room-event", "delete", room); });
    a.on_join_room([nsp](const std::string& room, const std::string& sid) {
        nsp.to("room-events").emit("room-event", "join", room, sid);
    });
    a.on_leave_room([nsp](const std::string& room, const std::string& sid) {
        nsp.to("room-events").emit("room-event", "leave", room, sid);
    });
}

// --recovery MS: connection state recovery on, sessions kept MS milliseconds.
bool recovery_on = false;
std::atomic<int> middleware_runs{0};

void setup(sio::namespace_ nsp) {
    nsp.use([](sio::socket s) -> std::optional<sio::middleware_error> {
        ++middleware_runs;
        const auto& auth = s.handshake().auth;
        if (auto it = auth.find("token"); it != auth.end() && it->value() == "bad")
            return sio::middleware_error{"unauthorized", boost::json::object{{"reason", "bad token"}}};
        if (auto it = auth.find("token"); it != auth.end() && it->value() == "bare")
            return sio::middleware_error{"unauthorized", nullptr};
        return std::nullopt;
    });
    nsp.on_connection([nsp](sio::socket socket) {
        boost::json::object welcome{
            {"id", socket.id()}, {"nsp", socket.nsp()}, {"auth", socket.handshake().auth}};
        if (recovery_on && socket.handshake().auth.contains("quiet") && !socket.recovered())
            welcome.clear(); // no welcome: the client receives no event (and so no offset)
        else if (recovery_on) {
            welcome["recovered"] = socket.recovered();
            welcome["middlewares"] = middleware_runs.load();
            welcome["data"] = socket.data();
        }
        if (!welcome.empty())
            socket.emit("welcome", std::move(welcome));
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
        socket.on("set-data", [](sio::socket s, sio::event& ev) {
            s.data() = ev.args.size() ? ev.args.values[0] : boost::json::value(nullptr);
            ev.ack();
        });
        socket.on("util", [nsp](sio::socket, sio::event ev) { return util(nsp, std::move(ev)); });
    });
    // Server-side events: what another server of a cluster sends with server_side_emit(_with_ack).
    nsp.on("server-ping", [](sio::event& ev) { ev.ack("pong"); });
    nsp.on("note", [nsp](sio::event& ev) { nsp.local().emit_arguments("noted", ev.args); });
}

/// "/session": the connection handler is a session coroutine (socket::receive()). It takes "n" events
/// (numbers) in order, slowly (50 ms of pause every 1000 events), and acks "report" with what it saw:
/// {count, ordered, mostWaiting}, mostWaiting being the most events that had arrived (on_any) and were not
/// yet taken.
void setup_session(sio::namespace_ nsp, std::size_t bound) {
    // A slow consumer, deterministically: after each 1000 events taken, the coroutine waits until `bound`
    // events wait for it (the server then holds reading) or the client asked for a report.
    nsp.on_connection([bound](sio::socket s) -> boost::asio::awaitable<void> {
        struct counts {
            long arrived = 0; // the socket's strand only
            long taken = 0;
            long most_waiting = 0;
            long reports = 0;                             // "report" events arrived
            boost::asio::steady_timer* waiting = nullptr; // the coroutine's pause, while it waits
        };
        auto n = std::make_shared<counts>();
        const auto full = [n, bound] { return n->arrived - n->taken >= static_cast<long>(bound); };
        s.on_any([n, full](sio::socket, const sio::event& ev) {
            ++n->arrived;
            n->reports += ev.name == "report";
            n->most_waiting = std::max(n->most_waiting, n->arrived - n->taken);
            if (n->waiting && (full() || ev.name == "report"))
                n->waiting->cancel();
        });
        long expected = 0;
        long reports_taken = 0;
        bool ordered = true;
        boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
        while (auto ev = co_await s.receive()) {
            ++n->taken;
            if (ev->name == "report") {
                ++reports_taken;
                ev->ack(boost::json::object{
                    {"count", expected}, {"ordered", ordered}, {"mostWaiting", n->most_waiting}});
                continue;
            }
            ordered = ordered && ev->name == "n" && ev->args.size() == 1 && ev->args.get<long>(0) == expected;
            // Waits only while at most half the bound waits: the server then reads (it holds reading from
            // the bound down to half of it), so the bound or a report comes.
            if (++expected % 1000 == 0 && n->arrived - n->taken <= static_cast<long>(bound / 2) &&
                n->reports == reports_taken) {
                pause.expires_at(boost::asio::steady_timer::time_point::max());
                n->waiting = &pause;
                co_await pause.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
                n->waiting = nullptr;
            }
        }
    });
}

} // namespace

/// SIGINT/SIGTERM: closes at once (the suites stop it between tests), then stops the loop.
boost::asio::awaitable<void> shut_down(sio::server& io, boost::asio::io_context& ioc) {
    co_await io.close(std::chrono::milliseconds(0));
    ioc.stop();
}

int main(int argc, char** argv) {
    sio::server_options opts;
    std::uint16_t port = 0;
    sio::redis_sharded_options sharded;
    bool streams_sharded = false;
    const char* tls_cert = nullptr;
    const char* tls_key = nullptr;
    for (int i = 1; i + 1 < argc; i += 2) {
        const long v = std::strtol(argv[i + 1], nullptr, 10);
        if (!std::strcmp(argv[i], "--tls-cert"))
            tls_cert = argv[i + 1];
        else if (!std::strcmp(argv[i], "--tls-key"))
            tls_key = argv[i + 1];
        else if (!std::strcmp(argv[i], "--parser"))
            opts.parser = std::strcmp(argv[i + 1], "msgpack") ? sio::protocol::json_parser()
                                                              : sio::protocol::msgpack_parser();
        else if (!std::strcmp(argv[i], "--port"))
            port = static_cast<std::uint16_t>(v);
        else if (!std::strcmp(argv[i], "--ping-interval"))
            opts.engine.ping_interval = std::chrono::milliseconds(v);
        else if (!std::strcmp(argv[i], "--ping-timeout"))
            opts.engine.ping_timeout = std::chrono::milliseconds(v);
        else if (!std::strcmp(argv[i], "--connect-timeout"))
            opts.connect_timeout = std::chrono::milliseconds(v);
        else if (!std::strcmp(argv[i], "--recovery")) {
            sio::connection_state_recovery_options r;
            r.max_disconnection_duration = std::chrono::milliseconds(v);
            opts.connection_state_recovery = r;
            recovery_on = true;
        } else if (!std::strcmp(argv[i], "--recovery-run-middlewares"))
            opts.connection_state_recovery->skip_middlewares = v == 0;
        else if (!std::strcmp(argv[i], "--allow-eio3"))
            opts.engine.allow_eio3 = v != 0;
        else if (!std::strcmp(argv[i], "--max-received-events"))
            opts.max_received_events = static_cast<std::size_t>(v);
        else if (!std::strcmp(argv[i], "--redis-port")) {
            sio::redis_options r;
            r.port = static_cast<std::uint16_t>(v);
            r.requests_timeout = std::chrono::milliseconds(2000);
            opts.adapter = sio::redis_adapter(std::move(r));
        } else if (!std::strcmp(argv[i], "--redis-streams-port")) {
            sio::redis_streams_options r;
            r.port = static_cast<std::uint16_t>(v);
            r.requests_timeout = std::chrono::milliseconds(2000);
            r.use_sharded_pubsub = streams_sharded;
            opts.adapter = sio::redis_streams_adapter(std::move(r));
        } else if (!std::strcmp(argv[i], "--redis-streams-sharded")) { // before --redis-streams-port
            streams_sharded = v != 0;
        } else if (!std::strcmp(argv[i], "--redis-sharded-port")) {
            sharded.connection.port = static_cast<std::uint16_t>(v);
            sharded.connection.requests_timeout = std::chrono::milliseconds(2000);
            opts.adapter = sio::redis_sharded_adapter(sharded);
        } else if (!std::strcmp(argv[i], "--redis-sharded-mode")) { // before --redis-sharded-port
            sharded.subscription_mode = static_cast<sio::redis_subscription_mode>(v);
        }
    }
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor(), opts);
    setup(io.of("/"));
    setup(io.of("/custom"));
    setup(io.of(std::regex("/dyn-[0-9]+")));
    setup_session(io.of("/session"), opts.max_received_events);
    report_room_events(io.of("/"));
    report_room_events(io.of("/custom"));
    // --tls-cert/--tls-key: HTTPS and WSS instead of HTTP and WS.
    boost::asio::ssl::context tls(boost::asio::ssl::context::tls_server);
    if (tls_cert && tls_key) {
        boost::system::error_code ec;
        tls.use_certificate_chain_file(tls_cert, ec);
        if (!ec)
            tls.use_private_key_file(tls_key, boost::asio::ssl::context::pem, ec);
        if (ec) {
            std::cerr << "tls: " << ec.message() << "\n";
            return 1;
        }
    }
    if (auto ec = tls_cert && tls_key ? io.listen("127.0.0.1", port, tls) : io.listen("127.0.0.1", port)) {
        std::cerr << "listen: " << ec.message() << "\n";
        return 1;
    }
    std::cout << "listening " << io.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait(
        [&](auto, int) { boost::asio::co_spawn(ioc, shut_down(io, ioc), boost::asio::detached); });
    ioc.run();
}
