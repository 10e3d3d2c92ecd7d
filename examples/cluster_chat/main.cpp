// The chat of examples/chat as a cluster: run it as several processes on different ports, all sharing one
// Redis. A message typed in a page served by one process reaches the pages of the others; the user count
// and the join/leave notices cover the whole cluster (fetch_sockets and broadcasts go through the Redis
// adapter, in the wire format of Node's @socket.io/redis-adapter).
//
//     examples/cluster_chat/run.sh          # redis-server + two processes on :3000 and :3001
//
// Env: PORT (3000), PUBLIC_DIR, REDIS_HOST (127.0.0.1), REDIS_PORT (6379), ADAPTER ("redis": the classic
// Redis adapter; "sharded": the sharded one, Redis 7 sharded pub/sub; "streams": the Redis streams adapter
// with connection state recovery on, so that a client cut off recovers its session on any process; every
// process must use the same).
// Stops on SIGINT/SIGTERM.
#include <sio/adapter/redis.hpp>
#include <sio/adapter/redis_sharded.hpp>
#include <sio/adapter/redis_streams.hpp>
#include <sio/sio.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

#include "chat.hpp"
#include "site.hpp"

namespace net = boost::asio;

namespace {

std::string env(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v ? v : fallback;
}

} // namespace

int main() {
    const auto port = static_cast<std::uint16_t>(std::stoi(env("PORT", "3000")));
    sio::redis_options redis;
    redis.host = env("REDIS_HOST", "127.0.0.1");
    redis.port = static_cast<std::uint16_t>(std::stoi(env("REDIS_PORT", "6379")));
    redis.on_subscriber_state = [](bool up) {
        std::cout << (up ? "cluster_chat: subscribed to redis" : "cluster_chat: lost redis") << std::endl;
    };

    net::io_context ioc;
    sio::server_options options;
    const std::string adapter = env("ADAPTER", "redis");
    if (adapter == "sharded") {
        sio::redis_sharded_options sharded;
        sharded.connection = redis;
        options.adapter = sio::redis_sharded_adapter(sharded);
    } else if (adapter == "streams") {
        sio::redis_streams_options streams;
        streams.host = redis.host;
        streams.port = redis.port;
        streams.on_subscriber_state = redis.on_subscriber_state;
        options.adapter = sio::redis_streams_adapter(streams);
        options.connection_state_recovery = sio::connection_state_recovery_options{};
    } else if (adapter == "redis") {
        options.adapter = sio::redis_adapter(redis);
    } else {
        std::cerr << "cluster_chat: ADAPTER must be \"redis\", \"sharded\" or \"streams\", not \"" << adapter
                  << "\"\n";
        return 1;
    }
    sio::server io(ioc.get_executor(), options);
    chat::install(io);

    net::ip::tcp::acceptor acceptor(ioc);
    if (const auto ec = chat::open_acceptor(acceptor, port)) {
        std::cerr << "cluster_chat: cannot listen on port " << port << ": " << ec.message() << "\n";
        return 1;
    }
    chat::serve_site(acceptor, io, env("PUBLIC_DIR", CHAT_PUBLIC_DIR));
    std::cout << "cluster_chat: open http://localhost:" << acceptor.local_endpoint().port() << std::endl;

    chat::run_until_signal(ioc, acceptor, io);
}
