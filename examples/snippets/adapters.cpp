// Snippets of docs/adapters.md.
#include <sio/adapter/cluster.hpp>
#include <sio/adapter/redis.hpp>
#include <sio/adapter/redis_sharded.hpp>
#include <sio/sio.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "snippets.hpp"

namespace snippets {

using namespace std::chrono_literals;

// [snippet adapter-custom]
class my_adapter : public sio::cluster_adapter {
public:
    my_adapter(sio::adapter_host& host, sio::cluster_options options)
        : cluster_adapter(host, std::move(options)) {}
    void init() override {
        // Called once the namespace is set up (host().anchor() works): subscribe to the channel of
        // host().name(); for each message received, on any thread: on_message(decode(bytes));
    }
    ~my_adapter() override { close(); /* then unsubscribe */ }

protected:
    boost::asio::awaitable<std::error_code> publish(sio::cluster_message m) override {
        // encode(m), send it to every other server of the namespace host().name()
        co_return std::error_code{};
    }
    boost::asio::awaitable<std::error_code> publish_response(std::string requester_uid,
                                                             sio::cluster_message m) override {
        // encode(m), send it to the server `requester_uid` only
        co_return std::error_code{};
    }
    boost::asio::awaitable<std::size_t> remote_server_count() override {
        co_return 1; // the servers subscribed to the namespace's channel, this one included
    }
};
// [end]

sio::server_options custom_adapter_options() {
    // [snippet adapter-factory]
    sio::server_options opts;
    opts.adapter = [](sio::adapter_host& host) -> std::unique_ptr<sio::adapter> {
        return std::make_unique<my_adapter>(host, sio::cluster_options{.uid = "", .requests_timeout = 5s});
    };
    // [end]
    return opts;
}

sio::server_options redis_options() {
    // [snippet adapter-redis]
    sio::redis_options redis;
    redis.host = "127.0.0.1";
    redis.port = 6379;
    redis.on_subscriber_state = [](bool up) { std::cout << (up ? "subscribed\n" : "Redis lost\n"); };
    sio::server_options options;
    options.adapter = sio::redis_adapter(redis);
    // [end]
    return options;
}

sio::server_options redis_sharded_server_options() {
    // [snippet adapter-redis-sharded]
    sio::redis_sharded_options o;
    o.connection.host = "127.0.0.1"; // every redis_options connection field
    o.connection.port = 6379;
    o.channel_prefix = "socket.io";                              // Node's channelPrefix
    o.subscription_mode = sio::redis_subscription_mode::dynamic; // Node's subscriptionMode
    sio::server_options options;
    options.adapter = sio::redis_sharded_adapter(o);
    // [end]
    return options;
}

void room_events(sio::server& io) {
    // [snippet adapter-room-events]
    auto nsp = io.of("/");
    auto& adapter = nsp.adapter();
    adapter.on_create_room([](const std::string& room) { std::cout << "room " << room << " created\n"; });
    adapter.on_delete_room([](const std::string& room) { std::cout << "room " << room << " deleted\n"; });
    adapter.on_join_room([nsp](const std::string& room, const std::string& sid) {
        nsp.to("room-events").emit("room-event", "join", room, sid);
    });
    adapter.on_leave_room([](const std::string& room, const std::string& sid) {
        std::cout << sid << " left " << room << "\n";
    });
    // [end]
}

} // namespace snippets
