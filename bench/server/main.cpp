// sio_bench_server: the benchmark contract (../../shared/bench/CONTRACT.md, summarised in bench/README.md)
// implemented with sio. One thread (the io_context's), port from `--port N`, else $PORT, else 3000 (0 picks
// a free port). Prints one line `listening <port> pid <pid>` and exits on SIGTERM/SIGINT.
//
// Handlers of namespace "/":
//   echo (...args) + ack         ack with the same arguments
//   bcast (n, payload) [ack]     n times io.emit("msg", payload), then ack()
//   join (room) [ack]            socket.join(room), then ack()
//   room-bcast (room, n, payload) [ack]   n times io.to(room).emit("msg", payload), then ack()
#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

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

} // namespace

/// SIGINT/SIGTERM: closes at once (a benchmark run is over), then stops the loop.
boost::asio::awaitable<void> shut_down(sio::server& io, boost::asio::io_context& ioc) {
    co_await io.close(std::chrono::milliseconds(0));
    ioc.stop();
}

int main(int argc, char** argv) {
    std::uint16_t port = 3000;
    if (const char* env = std::getenv("PORT"); env && *env)
        port = static_cast<std::uint16_t>(std::atoi(env));
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--port") == 0)
            port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
    raise_nofile();

    boost::asio::io_context ioc(1);
    sio::server io(ioc.get_executor());
    sio::namespace_ root = io.of("/");
    // The handlers hold `root` by reference (it outlives the loop): a lambda that holds only references
    // fits in std::function's own storage, so each socket's handlers allocate nothing more.
    root.on_connection([&root](sio::socket socket) {
        socket.on_event("echo", [](sio::socket, sio::event& ev) { ev.ack.send(std::move(ev.args)); });
        socket.on_event("bcast", [&root](sio::socket, sio::event& ev) {
            auto n = count_arg(ev.args, 0);
            auto payload = one_value(ev.args, 1);
            sio::broadcast_operator all(root.impl()); // io.emit: every socket of "/"
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
    });
    if (auto ec = io.listen("127.0.0.1", port)) {
        std::cerr << "sio_bench_server: listen on 127.0.0.1:" << port << ": " << ec.message() << "\n";
        return 1;
    }
    std::cout << "listening " << io.local_port() << " pid " << getpid() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait(
        [&](auto, int) { boost::asio::co_spawn(ioc, shut_down(io, ioc), boost::asio::detached); });
    ioc.run();
}
