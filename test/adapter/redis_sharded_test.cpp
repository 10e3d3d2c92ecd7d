// The sharded Redis adapter between C++ servers on a real redis-server 7 (standalone, started by the
// test on a free loopback port): three servers, every broadcast form and utility method, requests that
// time out with partial results, the room channels of each subscription mode (subscribed while a room
// has sockets on the server, given up once it has none), a subscription refused by Redis then allowed,
// Redis killed and restarted, and hostile messages. Interop with Node's createShardedAdapter is in
// test/interop/redis.test.mjs.
#include <sio/adapter/redis_sharded.hpp>
#include <sio/sio.hpp>

#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <mutex>

#include "adapter/redis/connection.hpp"
#include "support/health_check.hpp"
#include "support/redis_server.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;
using sio::redis_subscription_mode;

namespace {

/// Runs one command on the Redis at `port` and returns its reply.
sio::redis_detail::reply redis_command(std::uint16_t port, std::vector<std::string> args,
                                       std::string password = {}) {
    boost::asio::io_context ioc;
    sio::redis_detail::endpoint ep;
    ep.port = port;
    ep.password = std::move(password);
    sio::redis_detail::command_connection c(ioc.get_executor(), ep);
    auto f = boost::asio::co_spawn(ioc, c.command(std::move(args)), boost::asio::use_future);
    const auto deadline = clock_type::now() + 5s;
    while (f.wait_for(0s) != std::future_status::ready && clock_type::now() < deadline)
        ioc.run_one_for(100ms);
    BOOST_REQUIRE(f.wait_for(0s) == std::future_status::ready);
    auto [ec, r] = f.get();
    BOOST_REQUIRE(!ec);
    c.close();
    return r;
}

/// How many subscribers Redis counts on a shard channel.
std::int64_t shard_subscribers(std::uint16_t port, const std::string& channel,
                               const std::string& password = {}) {
    const auto r = redis_command(port, {"PUBSUB", "SHARDNUMSUB", channel}, password);
    BOOST_REQUIRE(r.type == sio::redis_detail::reply::kind::array);
    BOOST_REQUIRE(r.elements.size() == 2u);
    return r.elements[1].integer;
}

/// Polls `shard_subscribers` until it is `n` (true) or the deadline passes.
bool wait_subscribers(std::uint16_t port, const std::string& channel, std::int64_t n,
                      const std::string& password = {}) {
    for (const auto deadline = clock_type::now() + 5s; clock_type::now() < deadline;) {
        if (shard_subscribers(port, channel, password) == n)
            return true;
        std::this_thread::sleep_for(10ms); // polling Redis, not synchronising with the servers
    }
    return false;
}

/// Three servers on one Redis, one client on each.
struct sharded_cluster {
    redis_server redis;
    recorder states;
    std::vector<std::unique_ptr<sio_server>> servers;
    std::vector<std::unique_ptr<sio_client>> clients;
    std::vector<std::string> sids;

    explicit sharded_cluster(redis_subscription_mode mode = redis_subscription_mode::dynamic,
                             std::vector<std::string> redis_args = {}, std::string password = {})
        : redis(std::move(redis_args)) {
        BOOST_REQUIRE(redis.start());
        for (int i = 0; i < 3; ++i) {
            servers.push_back(std::make_unique<sio_server>(options(i, mode, password)));
            install(servers.back()->io().of("/"), servers.back()->log());
            servers.back()->start();
        }
        if (!password.empty())
            return; // the test drives the rest
        for (int i = 0; i < 3; ++i)
            BOOST_REQUIRE(!on(i, servers[i]->io().adapter_ready()));
        for (int i = 0; i < 3; ++i) {
            clients.push_back(std::make_unique<sio_client>(servers[i]->client()));
            sids.push_back(clients.back()->connect());
            BOOST_REQUIRE(servers[i]->log().wait("connect /"));
        }
    }

    sio::server_options options(int i, redis_subscription_mode mode, const std::string& password) {
        sio::server_options o;
        sio::redis_sharded_options r;
        r.connection.port = redis.port();
        r.connection.password = password;
        r.connection.requests_timeout = 1s;
        r.connection.reconnect_min = 20ms;
        r.connection.reconnect_max = 200ms;
        r.connection.on_subscriber_state = [this, i](bool up) {
            states.add(std::to_string(i) + (up ? " up" : " down"));
        };
        r.subscription_mode = mode;
        o.adapter = sio::redis_sharded_adapter(std::move(r));
        return with_health_check(o);
    }
    sio::server& io(int i) { return servers[i]->io(); }
    sio_client& client(int i) { return *clients[i]; }
    template <class T>
    T on(int i, boost::asio::awaitable<T> op) {
        auto f = servers[i]->spawn(std::move(op));
        return get(f, 10s);
    }
    /// Waits until every adapter's subscriptions so far are confirmed.
    void sync() {
        for (int i = 0; i < 3; ++i)
            BOOST_REQUIRE(!on(i, io(i).adapter_ready()));
    }
    void spublish(const std::string& channel, const std::string& payload) {
        (void)redis_command(redis.port(), {"SPUBLISH", channel, payload});
    }
};

struct dynamic_cluster : sharded_cluster {};

} // namespace

BOOST_FIXTURE_TEST_SUITE(three_servers, dynamic_cluster)

BOOST_AUTO_TEST_CASE(broadcast_forms) {
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(on(i, io(i).server_count()) == 3u);
    BOOST_TEST(sids[0].size() == 20u); // Node's rule tells socket ids by their length
    io(0).emit("all", 1);
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(client(i).read() == R"(42["all",1])");
    // A room on servers 1 and 2 (joined from server 0): its channel, one subscriber per server.
    BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_join("room")));
    BOOST_TEST(!on(0, io(0).in(sids[2]).sockets_join("room")));
    sync();
    BOOST_TEST(wait_subscribers(redis.port(), "socket.io#/#room#", 2));
    io(0).to("room").emit("r", "x");
    BOOST_TEST(client(1).read() == R"(42["r","x"])");
    BOOST_TEST(client(2).read() == R"(42["r","x"])");
    io(0).to("room").except(sids[2]).emit("except", 1);
    BOOST_TEST(client(1).read() == R"(42["except",1])");
    // A socket id (the namespace's channel), several rooms, volatile, binary.
    io(0).to(sids[2]).emit("direct", 2);
    BOOST_TEST(client(2).read() == R"(42["direct",2])");
    io(1).to(sids[0]).to("room").volatile_().emit("two rooms");
    BOOST_TEST(client(0).read() == R"(42["two rooms"])");
    BOOST_TEST(client(1).read() == R"(42["two rooms"])");
    BOOST_TEST(client(2).read() == R"(42["two rooms"])");
    io(2).to("room").emit("bin", sio::binary{std::string("\x01\x02", 2)});
    BOOST_TEST(client(1).read() == R"(451-["bin",{"_placeholder":true,"num":0}])");
    BOOST_TEST(client(1).read_binary() == std::string("\x01\x02", 2));
    BOOST_TEST(client(2).read() == R"(451-["bin",{"_placeholder":true,"num":0}])");
    BOOST_TEST(client(2).read_binary() == std::string("\x01\x02", 2));
    // Broadcast with acknowledgements, clients on the three servers.
    auto answers = servers[0]->spawn(io(0).timeout(2s).emit_with_ack("q"));
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST(client(i).read() == R"(420["q"])");
        client(i).send(R"(430["ok)" + std::to_string(i) + R"("])");
    }
    const auto all = get(answers);
    BOOST_TEST(!all.error);
    BOOST_TEST(all.responses.size() == 3u);
    // One client silent: a timeout with the others' answers.
    auto partial = servers[1]->spawn(io(1).timeout(300ms).emit_with_ack("q2"));
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(client(i).read() == R"(421["q2"])");
    client(0).send(R"(431["a"])");
    client(2).send(R"(431["c"])");
    const auto some = get(partial);
    BOOST_TEST((some.error == sio::error::ack_timeout));
    BOOST_TEST(some.responses.size() == 2u);
}

BOOST_AUTO_TEST_CASE(utility_methods) {
    auto sb = servers[1]->log().find_socket(sids[1]);
    boost::asio::post(sb.executor(), [sb] { sb.data() = boost::json::object{{"name", "bob"}}; });
    BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_join("shared")));
    auto fetched = on(0, io(0).in("shared").fetch_sockets());
    BOOST_TEST(!fetched.error);
    BOOST_TEST(ids(fetched) == std::vector<std::string>{sids[1]});
    BOOST_REQUIRE(fetched.size() == 1u);
    const auto rs = *fetched.begin();
    BOOST_TEST(sorted(rs.rooms()) == sorted({sids[1], "shared"}));
    BOOST_TEST(boost::json::serialize(rs.data()) == R"({"name":"bob"})");
    BOOST_TEST(ids(on(2, io(2).fetch_sockets())) == sorted(sids));
    rs.emit("direct", 2);
    BOOST_TEST(client(1).read() == R"(42["direct",2])");
    auto answer = servers[0]->spawn(rs.timeout(2s).emit_with_ack("ask"));
    BOOST_TEST(client(1).read() == R"(420["ask"])");
    client(1).send(R"(430["from one"])");
    const auto r = get(answer);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.args.get<std::string>(0) == "from one");
    BOOST_TEST(!on(2, io(2).in("shared").sockets_leave("shared")));
    BOOST_TEST(on(0, io(0).in("shared").fetch_sockets()).size() == 0u);
    // all_rooms: this server's rooms (the format has no request for the others').
    auto rooms = on(0, io(0).of("/").adapter().all_rooms());
    BOOST_TEST(rooms.rooms == std::vector<std::string>{sids[0]});
    // Disconnect over there.
    BOOST_TEST(!on(0, io(0).in(sids[2]).disconnect_sockets(true)));
    BOOST_TEST(client(2).closed());
    BOOST_TEST(servers[2]->log().wait("disconnect / server namespace disconnect"));
}

BOOST_AUTO_TEST_CASE(server_side_events_with_acks_and_partial_results) {
    recorder seen;
    io(1).on("hello", [&seen](sio::event& ev) {
        seen.add("one " + boost::json::serialize(ev.args.values));
        ev.ack("one answers");
    });
    io(2).on("hello", [&seen](sio::event& ev) {
        seen.add("two " + boost::json::serialize(ev.args.values));
        ev.ack("two answers");
    });
    BOOST_TEST(!on(0, io(0).server_side_emit("hello", 1, "a")));
    BOOST_TEST(seen.wait(R"(one [1,"a"])"));
    BOOST_TEST(seen.wait(R"(two [1,"a"])"));
    auto r = on(0, io(0).server_side_emit_with_ack("hello", 2, 2s));
    BOOST_TEST(!r.error);
    BOOST_TEST(r.expected == 2u);
    BOOST_TEST(r.responses.size() == 2u);
    // Server 2 does not answer "half": a timeout with server 1's answer.
    io(1).on("half", [](sio::event& ev) { ev.ack("only me"); });
    auto half = on(0, io(0).server_side_emit_with_ack("half", 300ms));
    BOOST_TEST((half.error == sio::error::cluster_timeout));
    BOOST_TEST(half.expected == 2u);
    BOOST_TEST(half.answered == 1u);
    BOOST_REQUIRE(half.responses.size() == 1u);
    BOOST_TEST(half.responses[0].get<std::string>(0) == "only me");
}

BOOST_AUTO_TEST_CASE(fetch_times_out_with_partial_results) {
    // A silent subscriber on the namespace's channel counts as a server that never answers.
    boost::asio::io_context ioc;
    sio::redis_detail::endpoint ep;
    ep.port = redis.port();
    sio::redis_detail::subscriber_connection spy(ioc.get_executor(), ep, [](auto, auto) {});
    spy.ssubscribe({"socket.io#/#"});
    auto f = boost::asio::co_spawn(ioc, spy.synced(), boost::asio::use_future);
    for (const auto deadline = clock_type::now() + 5s;
         f.wait_for(0s) != std::future_status::ready && clock_type::now() < deadline;)
        ioc.run_one_for(100ms);
    BOOST_REQUIRE(f.wait_for(0s) == std::future_status::ready);
    BOOST_REQUIRE(!f.get());
    BOOST_TEST(on(0, io(0).server_count()) == 4u);
    const auto start = clock_type::now();
    auto fetched = on(0, io(0).fetch_sockets());
    BOOST_TEST((fetched.error == sio::error::cluster_timeout));
    BOOST_TEST(ids(fetched) == sorted(sids)); // every real server answered
    BOOST_TEST((clock_type::now() - start < 3s));
    spy.close();
    ioc.run_for(100ms);
}

BOOST_AUTO_TEST_CASE(a_room_channel_goes_when_the_room_is_empty_here) {
    const std::string room = "socket.io#/#lobby#";
    // A second client on server 1: two sockets of the room there.
    auto extra = servers[1]->client();
    const auto extra_sid = extra.connect();
    BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_join("lobby")));
    BOOST_TEST(!on(0, io(0).in(extra_sid).sockets_join("lobby")));
    sync();
    BOOST_TEST(wait_subscribers(redis.port(), room, 1));
    BOOST_TEST(!on(1, io(1).in(sids[1]).sockets_leave("lobby")));
    sync();                                                 // every (un)subscription issued so far confirmed
    BOOST_TEST(shard_subscribers(redis.port(), room) == 1); // one socket left there: still subscribed
    io(0).to("lobby").emit("still", 1);
    BOOST_TEST(extra.read() == R"(42["still",1])");
    extra.close();
    BOOST_TEST(wait_subscribers(redis.port(), room, 0)); // its last socket left: unsubscribed
}

BOOST_AUTO_TEST_CASE(socket_ids_have_no_channel_in_dynamic_mode) {
    // Node's rule: a room that is the id of a socket of this server uses the namespace's channel.
    sync();
    for (const auto& sid : sids)
        BOOST_TEST(shard_subscribers(redis.port(), "socket.io#/#" + sid + "#") == 0);
    // A public room and a room named after another server's socket are rooms like any other.
    BOOST_TEST(!on(0, io(0).in(sids[0]).sockets_join(sids[1])));
    sync();
    BOOST_TEST(shard_subscribers(redis.port(), "socket.io#/#" + sids[1] + "#") == 1);
    io(2).to(sids[1]).emit("to one", 1); // a socket id: the namespace's channel, to both sockets
    BOOST_TEST(client(0).read() == R"(42["to one",1])");
    BOOST_TEST(client(1).read() == R"(42["to one",1])");
    BOOST_TEST(!on(0, io(0).in(sids[0]).sockets_leave(sids[1])));
    BOOST_TEST(wait_subscribers(redis.port(), "socket.io#/#" + sids[1] + "#", 0));
}

BOOST_AUTO_TEST_CASE(a_room_channel_goes_whatever_empties_the_room) {
    const std::string room = "socket.io#/#gone#";
    for (int round = 0; round < 20; ++round) { // joins and leaves racing the refused-subscription watcher
        BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_join("gone")));
        BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_leave("gone")));
    }
    // Server 1 applies the joins and leaves when their messages arrive; a request sent after them on the
    // same channel is answered only once they are applied. Then sync() waits for the SSUBSCRIBE replies.
    const auto applied = [&] {
        BOOST_TEST(!on(0, io(0).fetch_sockets()).error);
        sync();
    };
    applied();
    BOOST_TEST(shard_subscribers(redis.port(), room) == 0);
    BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_join("gone")));
    applied();
    BOOST_TEST(shard_subscribers(redis.port(), room) == 1);
    client(1).close(); // the room's last socket disconnects
    BOOST_TEST(wait_subscribers(redis.port(), room, 0));
}

BOOST_AUTO_TEST_CASE(hostile_messages_are_dropped) {
    std::mutex warnings_mutex;
    std::vector<std::string> warnings;
    sio::set_log_sink([&](const sio::log_record& r) {
        if (r.scope == sio::log_scope::adapter && r.level == sio::log_level::warning) {
            std::lock_guard lock(warnings_mutex);
            warnings.emplace_back(r.message);
        }
    });
    const std::string main = "socket.io#/#";
    for (const std::string payload :
         {std::string("\xc1"), std::string("\x84\xa4type"), std::string("\xdd\xff\xff\xff\xff"),
          std::string("{"), std::string(R"({"type":3,"uid":"x","nsp":"/","data":{"packet":{"data":7}}})"),
          std::string(R"({"type":11,"uid":"x","nsp":"/","data":{"requestId":"r","clientCount":1e15}})"),
          std::string(R"({"type":77,"uid":"x","nsp":"/","data":{}})"), std::string(2000, '['),
          std::string(R"({"type":3,"uid":"x","nsp":"/other","data":{}})")})
        spublish(main, payload);
    io(0).emit("after", "garbage");
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(client(i).read() == R"(42["after","garbage"])");
    sio::set_log_sink({});
    std::lock_guard lock(warnings_mutex);
    const auto dropped = std::count_if(warnings.begin(), warnings.end(), [&](const std::string& w) {
        return w.find("dropped a message on " + main) != std::string::npos;
    });
    BOOST_TEST(dropped == 3 * 8); // each server; the other namespace's message is ignored silently
}

BOOST_AUTO_TEST_CASE(redis_killed_and_restarted) {
    BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_join("kept")));
    sync();
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(health_status(*servers[i]) == 200u);
    redis.stop();
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(states.wait(std::to_string(i) + " down"));
    for (int i = 0; i < 3; ++i) // the health check tells the load balancer
        BOOST_TEST(wait_health(*servers[i], 503));
    io(0).local().emit("local", 1);
    BOOST_TEST(client(0).read() == R"(42["local",1])");
    auto fetched = on(0, io(0).fetch_sockets());
    BOOST_TEST(static_cast<bool>(fetched.error));
    BOOST_REQUIRE(redis.restart());
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(states.wait(std::to_string(i) + " up", 2));
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(wait_health(*servers[i], 200));
    for (int i = 0; i < 3; ++i) { // each command connection reconnects on its own back-off
        bool through = false;
        for (const auto deadline = clock_type::now() + 5s; !through && clock_type::now() < deadline;)
            through = !on(i, io(i).fetch_sockets()).error;
        BOOST_REQUIRE(through);
    }
    // The room's channel came back with the others.
    BOOST_TEST(wait_subscribers(redis.port(), "socket.io#/#kept#", 1));
    io(0).to("kept").emit("again", 2);
    BOOST_TEST(client(1).read() == R"(42["again",2])");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(static_mode_uses_the_namespace_channel_only) {
    sharded_cluster c(redis_subscription_mode::static_);
    BOOST_TEST(!c.on(0, c.io(0).in(c.sids[1]).sockets_join("room")));
    c.sync();
    BOOST_TEST(shard_subscribers(c.redis.port(), "socket.io#/#room#") == 0);
    c.io(0).to("room").emit("r", 1);
    BOOST_TEST(c.client(1).read() == R"(42["r",1])");
    c.io(2).to(c.sids[0]).emit("s", 2);
    BOOST_TEST(c.client(0).read() == R"(42["s",2])");
}

BOOST_AUTO_TEST_CASE(dynamic_private_mode_gives_socket_ids_a_channel) {
    sharded_cluster c(redis_subscription_mode::dynamic_private);
    BOOST_TEST(wait_subscribers(c.redis.port(), "socket.io#/#" + c.sids[1] + "#", 1));
    c.io(0).to(c.sids[1]).emit("s", 2);
    BOOST_TEST(c.client(1).read() == R"(42["s",2])");
    BOOST_TEST(!c.on(0, c.io(0).in(c.sids[2]).sockets_join("room")));
    BOOST_TEST(wait_subscribers(c.redis.port(), "socket.io#/#room#", 1));
    c.io(1).to("room").emit("r", 1);
    BOOST_TEST(c.client(2).read() == R"(42["r",1])");
    c.client(1).close();
    BOOST_TEST(wait_subscribers(c.redis.port(), "socket.io#/#" + c.sids[1] + "#", 0));
}

BOOST_AUTO_TEST_CASE(a_node_that_refuses_cluster_commands_is_used_as_a_standalone_one) {
    // CLUSTER renamed away (as an ACL without it, or a proxy): the node answers "unknown command", not
    // "cluster support disabled". The adapter still becomes ready and works on that one node.
    sharded_cluster c(redis_subscription_mode::dynamic, {"--rename-command", "CLUSTER", ""});
    c.sync();
    BOOST_TEST(!c.on(0, c.io(0).in(c.sids[1]).sockets_join("room")));
    BOOST_TEST(wait_subscribers(c.redis.port(), "socket.io#/#room#", 1));
    c.io(2).to("room").emit("r", 1);
    BOOST_TEST(c.client(1).read() == R"(42["r",1])");
}

BOOST_AUTO_TEST_CASE(a_refused_subscription_is_reported_and_asked_again) {
    // The default user may not use the channels of "/"; Redis refuses the SSUBSCRIBEs until allowed.
    sharded_cluster c(redis_subscription_mode::dynamic, {"--requirepass", "pw"}, "pw");
    (void)redis_command(c.redis.port(), {"ACL", "SETUSER", "default", "resetchannels", "&other*"}, "pw");
    // Servers started before the ACL change may have subscribed already: a new namespace is refused.
    auto refused = c.on(0, c.io(0).of("/late").adapter_ready());
    BOOST_TEST((refused == sio::redis_detail::errc::subscribe_failed));
    (void)redis_command(c.redis.port(), {"ACL", "SETUSER", "default", "allchannels"}, "pw");
    // Asked again with back-off: subscribed without anybody calling again.
    BOOST_TEST(wait_subscribers(c.redis.port(), "socket.io#/late#", 1, "pw"));
    BOOST_TEST(!c.on(0, c.io(0).of("/late").adapter_ready()));
}
