// sio_bench_server: the benchmark contract (../../shared/bench/CONTRACT.md, summarised in bench/README.md)
// implemented with sio. One thread (the io_context's), port from `--port N`, else $PORT, else 3000 (0 picks
// a free port). Prints one line `listening <port> pid <pid>` and exits on SIGTERM/SIGINT.
//
// Handlers of namespace "/":
//   echo (...args) + ack         ack with the same arguments
//   bcast (n, payload) [ack]     n times io.emit("msg", payload), then ack()
//   join (room) [ack]            socket.join(room), then ack()
//   room-bcast (room, n, payload) [ack]   n times io.to(room).emit("msg", payload), then ack()
//
// Soak mode (bench/soak.sh), off unless `--tick-ms` is given:
//   --tick-ms MS          every MS ms, io.emit("tick", seq, payload) to every socket of "/" (seq from 1)
//   --tick-bytes B        length of the tick's string payload (default 16)
//   --max-queued-bytes N, --max-queued-packets N   the outgoing queue's limits (overflow policy: the
//                         default, `disconnect`)
//   --threads N           run the io_context on N threads (default 1)
//   --session 1           "echo" is answered by a session coroutine per socket (socket.receive(), the
//                         other events by handlers as above): bench/run.py --session compares the two
//   --metrics 1           metrics on (docs/metrics.md), served at /metrics: bench/run.py --metrics compares
//                         the CPU per operation with and without
//   --recovery 1          connection state recovery on (each broadcast gets an offset and is kept):
//                         bench/run.py --recovery compares broadcasts with and without it
//   --parser msgpack      the msgpack parser (socket.io-msgpack-parser's format) instead of the JSON one
//   --adapter A --redis-port P   every namespace on a Redis adapter at 127.0.0.1:P, A = redis (classic),
//                         sharded (dynamic subscriptions) or streams; `listening` is printed once the main
//                         namespace's adapter is subscribed (bench/cross.py runs two servers on one Redis)
//   --sndbuf N            SO_SNDBUF of the accepted sockets (the server accepts them itself and hands them to
//                         the Engine.IO server): otherwise a peer that does not read parks megabytes in the
//                         kernel before the session's queue grows at all
// and namespace "/soak" answers `stats` with {rss, heap, arena, sessions, sockets, ticks, disconnects}: the
// process's VmRSS, the malloc heap in use and held (mallinfo2), the open Engine.IO sessions, the sockets of
// "/", the ticks sent and the disconnects of "/" by reason.
#include <sio/adapter/redis.hpp>
#include <sio/adapter/redis_sharded.hpp>
#include <sio/adapter/redis_streams.hpp>
#include <sio/sio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

namespace {

// Broadcast counts come from the wire: capped so that a hostile client cannot make the server loop forever.
constexpr std::int64_t max_count = 1'000'000;

std::int64_t count_arg(const sio::arguments& args, std::size_t i) {
    if (i >= args.values.size())
        return 0;
    const auto& v = args.values[i];
    std::int64_t n = 0;
    if (v.is_int64())
        n = v.get_int64();
    else if (v.is_uint64())
        n = v.get_uint64() > static_cast<std::uint64_t>(max_count)
                ? max_count
                : static_cast<std::int64_t>(v.get_uint64());
    else if (v.is_double())
        n = static_cast<std::int64_t>(v.get_double());
    return n < 0 ? 0 : (n > max_count ? max_count : n);
}

sio::arguments one_value(const sio::arguments& args, std::size_t i) {
    sio::arguments out;
    out.values.push_back(i < args.values.size() ? args.values[i] : boost::json::value());
    out.attachments = args.attachments;
    return out;
}

void raise_nofile() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

std::uint64_t self_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stoull(line.substr(6)) * 1024;
    return 0;
}

// Soak mode: the tick counter and the disconnects of "/" by reason.
struct soak_state {
    std::uint64_t ticks = 0;
    std::size_t sockets = 0;
    std::map<std::string, std::uint64_t, std::less<>> disconnects;
};

boost::json::object soak_stats(sio::server& io, const soak_state& soak) {
    const struct mallinfo2 mi = mallinfo2();
    boost::json::object o;
    o["rss"] = self_rss_bytes();
    o["heap"] = mi.uordblks + mi.hblkhd; // in use: the arenas' allocated chunks plus mmapped blocks
    o["arena"] = mi.arena + mi.hblkhd;   // held from the system
    o["sessions"] = io.engine().clients_count();
    o["sockets"] = soak.sockets;
    o["ticks"] = soak.ticks;
    boost::json::object d;
    for (const auto& [reason, n] : soak.disconnects)
        d[reason] = n;
    o["disconnects"] = std::move(d);
    return o;
}

/// Soak mode: io.emit("tick", seq, payload) every `every`, on a fixed schedule (no drift).
boost::asio::awaitable<void> ticker(sio::namespace_& root, soak_state& soak, std::chrono::milliseconds every,
                                    std::string payload) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    auto next = std::chrono::steady_clock::now() + every;
    for (;;) {
        timer.expires_at(next);
        auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec)
            co_return;
        root.emit("tick", ++soak.ticks, payload);
        next += every;
    }
}

} // namespace

/// `--sndbuf`: accepts on `acceptor` (whose SO_SNDBUF the accepted sockets inherit) for the Engine.IO server.
boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, sio::server& io) {
    for (;;) {
        auto [ec, sock] = co_await acceptor.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec == boost::asio::error::operation_aborted || !acceptor.is_open())
            co_return;
        if (ec) { // out of descriptors, say: try again a little later
            boost::asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
            co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
            continue;
        }
        io.engine().accept(std::move(sock));
    }
}

/// SIGINT/SIGTERM: closes at once (a benchmark run is over), then stops the loop.
boost::asio::awaitable<void> shut_down(sio::server& io, boost::asio::ip::tcp::acceptor& acceptor,
                                       boost::asio::io_context& ioc) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    co_await io.close(std::chrono::milliseconds(0));
    ioc.stop();
}

/// `--session 1`: "echo" answered by a session coroutine per socket (socket.receive()) instead of a handler.
boost::asio::awaitable<void> echo_session(sio::socket socket) {
    while (auto ev = co_await socket.receive())
        if (ev->name == "echo")
            ev->ack.send(std::move(ev->args));
}

int main(int argc, char** argv) {
    std::uint16_t port = 3000;
    if (const char* env = std::getenv("PORT"); env && *env)
        port = static_cast<std::uint16_t>(std::atoi(env));
    long tick_ms = 0, tick_bytes = 16, sndbuf = 0;
    bool session_mode = false;
    long threads = 1;
    sio::server_options options;
    std::string adapter;
    std::uint16_t redis_port = 6379;
    for (int i = 1; i + 1 < argc; ++i) {
        const std::string_view k = argv[i];
        const long long v = std::atoll(argv[i + 1]);
        if (k == "--parser" && std::string_view(argv[i + 1]) == "msgpack")
            options.parser = sio::protocol::msgpack_parser(); // the limits stay the default ones
        else if (k == "--adapter")
            adapter = argv[i + 1];
        else if (k == "--redis-port")
            redis_port = static_cast<std::uint16_t>(v);
        else if (k == "--port")
            port = static_cast<std::uint16_t>(v);
        else if (k == "--tick-ms")
            tick_ms = static_cast<long>(v);
        else if (k == "--tick-bytes")
            tick_bytes = static_cast<long>(v);
        else if (k == "--sndbuf")
            sndbuf = static_cast<long>(v);
        else if (k == "--session")
            session_mode = v != 0;
        else if (k == "--threads")
            threads = std::clamp<long>(static_cast<long>(v), 1, 64);
        else if (k == "--max-queued-bytes")
            options.engine.max_queued_bytes = static_cast<std::size_t>(v);
        else if (k == "--max-queued-packets")
            options.engine.max_queued_packets = static_cast<std::size_t>(v);
        else if (k == "--metrics" && v != 0) // counted, and served at /metrics (bench/run.py --metrics)
            options.metrics = sio::metrics_options{.endpoint = "/metrics"};
        else if (k == "--recovery" && v != 0) // connection state recovery on, default options
            options.connection_state_recovery = sio::connection_state_recovery_options{};
        else
            continue;
        ++i;
    }
    raise_nofile();
    if (adapter == "redis") {
        options.adapter = sio::redis_adapter({.host = "127.0.0.1", .port = redis_port});
    } else if (adapter == "sharded") {
        sio::redis_sharded_options o;
        o.connection.port = redis_port;
        options.adapter = sio::redis_sharded_adapter(std::move(o));
    } else if (adapter == "streams") {
        options.adapter = sio::redis_streams_adapter({.port = redis_port});
    } else if (!adapter.empty()) {
        std::cerr << "sio_bench_server: --adapter: redis, sharded or streams\n";
        return 2;
    }

    boost::asio::io_context ioc(static_cast<int>(threads));
    sio::server io(ioc.get_executor(), std::move(options));
    sio::namespace_ root = io.of("/");
    soak_state soak;
    const bool soak_mode = tick_ms > 0;
    // The handlers hold `root` by reference (it outlives the loop): a lambda that holds only references
    // fits in std::function's own storage, so each socket's handlers allocate nothing more.
    auto register_handlers = [&root, &soak, soak_mode, session_mode](sio::socket socket) {
        if (soak_mode) {
            ++soak.sockets;
            socket.on_disconnect([&soak](sio::socket, sio::disconnect_reason r) {
                --soak.sockets;
                const auto reason = sio::to_string(r);
                if (auto it = soak.disconnects.find(reason); it != soak.disconnects.end())
                    ++it->second;
                else
                    soak.disconnects.emplace(std::string(reason), 1);
            });
        }
        if (!session_mode)
            socket.on_event("echo", [](sio::socket, sio::event& ev) { ev.ack.send(std::move(ev.args)); });
        socket.on_event("bcast", [&root](sio::socket, sio::event& ev) {
            auto n = count_arg(ev.args, 0);
            auto payload = one_value(ev.args, 1);
            const auto all = root.compress(true); // io.emit: every socket of "/" (default flags)
            for (std::int64_t i = 0; i < n; ++i)
                all.emit_arguments("msg", i + 1 == n ? std::move(payload) : payload);
            ev.ack();
        });
        socket.on_event("join", [](sio::socket s, sio::event& ev) {
            if (!ev.args.values.empty() && ev.args.values[0].is_string())
                s.join(std::string(ev.args.values[0].get_string()));
            ev.ack();
        });
        socket.on_event("room-bcast", [&root](sio::socket, sio::event& ev) {
            if (ev.args.values.empty() || !ev.args.values[0].is_string())
                return;
            auto to = root.to(std::string(ev.args.values[0].get_string()));
            auto n = count_arg(ev.args, 1);
            auto payload = one_value(ev.args, 2);
            for (std::int64_t i = 0; i < n; ++i)
                to.emit_arguments("msg", i + 1 == n ? std::move(payload) : payload);
            ev.ack();
        });
    };
    if (session_mode) // each socket's session coroutine takes "echo" with receive(); the rest as below
        root.on_connection([register_handlers](sio::socket socket) {
            register_handlers(socket);
            return echo_session(socket);
        });
    else
        root.on_connection(register_handlers);
    if (soak_mode)
        io.of("/soak").on_connection([&io, &soak](sio::socket socket) {
            socket.on_event("stats",
                            [&io, &soak](sio::socket, sio::event& ev) { ev.ack(soak_stats(io, soak)); });
        });
    boost::asio::ip::tcp::acceptor acceptor(ioc);
    if (sndbuf > 0) {
        namespace ip = boost::asio::ip;
        boost::system::error_code ec;
        const ip::tcp::endpoint at(ip::make_address_v4("127.0.0.1"), port);
        acceptor.open(at.protocol(), ec);
        if (!ec)
            acceptor.set_option(ip::tcp::acceptor::reuse_address(true), ec);
        if (!ec)
            acceptor.set_option(boost::asio::socket_base::send_buffer_size(static_cast<int>(sndbuf)), ec);
        if (!ec)
            acceptor.bind(at, ec);
        if (!ec)
            acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
        if (ec) {
            std::cerr << "sio_bench_server: listen on 127.0.0.1:" << port << ": " << ec.message() << "\n";
            return 1;
        }
        boost::asio::co_spawn(ioc, accept_loop(acceptor, io), boost::asio::detached);
        port = acceptor.local_endpoint().port();
    } else if (auto ec = io.listen("127.0.0.1", port)) {
        std::cerr << "sio_bench_server: listen on 127.0.0.1:" << port << ": " << ec.message() << "\n";
        return 1;
    } else {
        port = io.local_port();
    }
    if (adapter.empty()) {
        std::cout << "listening " << port << " pid " << getpid() << std::endl;
    } else { // once the cluster can reach this server: the main namespace's adapter is subscribed
        boost::asio::co_spawn(
            ioc,
            [&io, port]() -> boost::asio::awaitable<void> {
                if (auto ec = co_await io.adapter_ready())
                    std::cerr << "sio_bench_server: adapter: " << ec.message() << "\n";
                std::cout << "listening " << port << " pid " << getpid() << std::endl;
            },
            boost::asio::detached);
    }
    if (soak_mode)
        boost::asio::co_spawn(ioc,
                              ticker(root, soak, std::chrono::milliseconds(tick_ms),
                                     std::string(static_cast<std::size_t>(std::max(tick_bytes, 0L)), 'x')),
                              boost::asio::detached);
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait(
        [&](auto, int) { boost::asio::co_spawn(ioc, shut_down(io, acceptor, ioc), boost::asio::detached); });
    std::vector<std::thread> more; // `--threads N`: the one io_context on N threads (per-connection strands)
    for (long t = 1; t < threads; ++t)
        more.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : more)
        t.join();
}
