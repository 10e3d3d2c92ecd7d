// A Socket.IO server that joins a cluster through Redis (the classic format of Node's
// @socket.io/redis-adapter, so Node servers may join the same cluster). Run it twice on two ports: a
// "chat" message sent to one server reaches the clients of both; "who" lists the sockets of the whole
// cluster; the servers greet each other with a server-side event when they start.
//
//     redis-server --port 6379 &
//     PORT=3000 build/debug/examples/redis_cluster &
//     PORT=3001 build/debug/examples/redis_cluster
//
// Env: PORT (3000), REDIS_HOST (127.0.0.1), REDIS_PORT (6379). Stops on SIGINT/SIGTERM.
#include <sio/adapter/redis.hpp>
#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

std::string env(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v ? v : fallback;
}

/// "who": answers with the ids of every socket of the cluster, and which servers were silent.
boost::asio::awaitable<void> who(sio::server* io, sio::ack ack) {
    const sio::fetch_sockets_result all = co_await io->fetch_sockets();
    boost::json::array ids;
    for (const auto& s : all)
        ids.emplace_back(s.id());
    ack(ids, all.error ? all.error.message() : std::string());
}

/// Says hello to the other servers once, and prints their answers.
boost::asio::awaitable<void> greet(sio::server* io, std::string me) {
    const sio::server_side_responses r =
        co_await io->server_side_emit_with_ack("hello", me, std::chrono::milliseconds(2000));
    std::cout << me << ": " << r.answered << " of " << r.expected << " other servers answered" << std::endl;
}

} // namespace

/// SIGINT/SIGTERM: closes gracefully (every queued packet written, at most 2 s), then stops the loop.
boost::asio::awaitable<void> shut_down(sio::server& io, boost::asio::io_context& ioc) {
    co_await io.close(std::chrono::seconds(2));
    ioc.stop();
}

int main() {
    const auto port = static_cast<std::uint16_t>(std::stoi(env("PORT", "3000")));
    sio::redis_options redis;
    redis.host = env("REDIS_HOST", "127.0.0.1");
    redis.port = static_cast<std::uint16_t>(std::stoi(env("REDIS_PORT", "6379")));
    redis.on_subscriber_state = [](bool up) {
        std::cout << (up ? "redis: subscribed" : "redis: lost") << std::endl;
    };

    boost::asio::io_context ioc;
    sio::server_options options;
    options.adapter = sio::redis_adapter(redis);
    sio::server io(ioc.get_executor(), options);

    io.on_connection([&io](sio::socket s) {
        s.on("chat", [&io](sio::socket, std::string text) { io.emit("chat", text); }); // every server
        s.on("who", [&io](sio::socket, sio::event ev) { return who(&io, std::move(ev.ack)); });
    });
    // Server-side events from the other servers of the cluster.
    io.on("hello", [port](sio::event& ev) { ev.ack("hello from :" + std::to_string(port)); });

    if (auto ec = io.listen("0.0.0.0", port)) {
        std::cerr << "listen: " << ec.message() << "\n";
        return 1;
    }
    std::cout << "listening on http://localhost:" << io.local_port() << "/socket.io/" << std::endl;
    boost::asio::co_spawn(ioc, greet(&io, ":" + std::to_string(io.local_port())), boost::asio::detached);

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait(
        [&](auto, int) { boost::asio::co_spawn(ioc, shut_down(io, ioc), boost::asio::detached); });
    ioc.run();
}
