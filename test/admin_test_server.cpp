// The Socket.IO server the Admin UI interop tests drive (test/interop/admin.test.mjs): a sio server
// instrumented with sio::admin::instrument.
// Usage: admin_test_server --port 0 [--auth none|basic] [--readonly 1] [--production 1]
//                          [--namespace /admin] [--server-id ID] [--session-redis-port N]
//                          [--redis-port N]
// --session-redis-port N: session ids in the Redis on 127.0.0.1:N (make_redis_store).
// --redis-port N: the namespaces (the admin one too) use the Redis adapter on 127.0.0.1:N, so that the
// server is one of a cluster (with Node servers instrumented by @socket.io/admin-ui, for example).
// Prints "listening <port>". --auth basic: user "admin", password "changeit" (a bcrypt hash of cost 4).
// Namespaces "/" and "/chat":
//   "echo" ...args              emit "echo" with the same args (binary kept)
//   "rooms" (with ack)          ack(rooms, sorted)
//   "join" room (with ack)      join, ack()
// Exits on SIGTERM.
#include <sio/adapter/redis.hpp>
#include <sio/admin.hpp>
#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace {

constexpr const char* changeit_hash = "$2b$04$OZEpdvSaWIbbUPjsIVsbvuTVZYB1lNtGVc7GGvgHJWeG83GC0hFhq";

void setup(const sio::namespace_& nsp) {
    nsp.on_connection([](sio::socket s) {
        s.on("echo", [](sio::socket s, sio::event& ev) { s.emit_arguments("echo", ev.args); });
        s.on("rooms", [](sio::socket s, sio::ack ack) {
            auto rooms = s.rooms();
            std::sort(rooms.begin(), rooms.end());
            ack(rooms);
        });
        s.on("join", [](sio::socket s, std::string room, sio::ack ack) {
            s.join(room);
            ack();
        });
    });
}

} // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 0;
    std::uint16_t session_redis_port = 0;
    std::uint16_t redis_port = 0;
    sio::admin::options admin;
    admin.auth_disabled = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const std::string value = argv[i + 1];
        if (flag == "--port")
            port = static_cast<std::uint16_t>(std::strtol(value.c_str(), nullptr, 10));
        else if (flag == "--auth" && value == "basic") {
            admin.auth_disabled = false;
            admin.auth = sio::admin::basic_auth{"admin", changeit_hash};
        } else if (flag == "--readonly")
            admin.readonly = value == "1";
        else if (flag == "--production")
            admin.mode = value == "1" ? sio::admin::mode::production : sio::admin::mode::development;
        else if (flag == "--namespace")
            admin.namespace_name = value;
        else if (flag == "--server-id")
            admin.server_id = value;
        else if (flag == "--session-redis-port")
            session_redis_port = static_cast<std::uint16_t>(std::strtol(value.c_str(), nullptr, 10));
        else if (flag == "--redis-port")
            redis_port = static_cast<std::uint16_t>(std::strtol(value.c_str(), nullptr, 10));
    }
    boost::asio::io_context ioc;
    sio::server_options options;
    options.metrics = sio::metrics_options{}; // server_stats carries packet and byte counts
    if (redis_port) {
        sio::redis_options redis;
        redis.port = redis_port;
        redis.requests_timeout = std::chrono::milliseconds(2000);
        options.adapter = sio::redis_adapter(std::move(redis));
    }
    sio::server io(ioc.get_executor(), std::move(options));
    if (session_redis_port) {
        sio::redis_options redis;
        redis.port = session_redis_port;
        admin.store = sio::admin::make_redis_store(ioc.get_executor(), redis);
    }
    // Moved: the store (its Redis connection on `ioc`) goes with the instrumentation, before `ioc`.
    auto instrumentation = sio::admin::instrument(io, std::move(admin));
    setup(io.of("/"));
    setup(io.of("/chat"));
    if (auto ec = io.listen("127.0.0.1", port)) {
        std::cerr << "listen: " << ec.message() << std::endl;
        return 1;
    }
    std::cout << "listening " << io.local_port() << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) {
        instrumentation.stop();
        boost::asio::co_spawn(ioc, io.close(std::chrono::milliseconds(500)), boost::asio::detached);
    });
    ioc.run();
}
