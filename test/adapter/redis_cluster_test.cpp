// The sharded Redis adapter on a real Redis Cluster (three masters started by the test on free loopback
// ports): the slot arithmetic and the slot map alone, then two C++ servers seeded with one node: every
// channel subscribed on the master of its slot, broadcasts, rooms, fetch_sockets and server-side events
// across the servers, room channels given up on their node once the room is empty here, a master without
// replica restarted on its port (the health check 503 meanwhile; its channels, the server count and delivery
// come back), and a resharding (the namespace channel's slot moved to another master during traffic) after
// which the subscriptions follow the slot and cross-server delivery resumes. With three replicas: a master
// killed (a room on another master still delivers in the window), its replica promoted, delivery resumes. Then the shard router against scripted nodes: what a real cluster cannot show
// on demand (a pushed sunsubscribe racing an answer, refusals, redirections, unserved slots, close).
#include <sio/adapter/redis_sharded.hpp>
#include <sio/sio.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <set>
#include <thread>

#include "adapter/redis/cluster_topology.hpp"
#include "adapter/redis/connection.hpp"
#include "adapter/redis/shard_router.hpp"
#include "support/fake_redis.hpp"
#include "support/health_check.hpp"
#include "support/redis_cluster.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;
using sio::redis_detail::cluster_redirect;
using sio::redis_detail::cluster_topology;
using sio::redis_detail::key_slot;
using sio::redis_detail::parse_redirect;
using sio::redis_detail::reply;

namespace {

reply integer(std::int64_t v) {
    reply r;
    r.type = reply::kind::integer;
    r.integer = v;
    return r;
}
reply string(std::string s) {
    reply r;
    r.type = reply::kind::string;
    r.str = std::move(s);
    return r;
}
reply array(std::vector<reply> e) {
    reply r;
    r.type = reply::kind::array;
    r.elements = std::move(e);
    return r;
}
reply range(std::int64_t start, std::int64_t end, std::string host, std::int64_t port) {
    return array(
        {integer(start), integer(end), array({string(std::move(host)), integer(port), string("id")})});
}

/// Runs one command on the node at `port` and returns its reply.
reply node_command(std::uint16_t port, std::vector<std::string> args) {
    boost::asio::io_context ioc;
    sio::redis_detail::endpoint ep;
    ep.port = port;
    sio::redis_detail::command_connection c(ioc.get_executor(), ep);
    auto f = boost::asio::co_spawn(ioc, c.command(std::move(args)), boost::asio::use_future);
    const auto deadline = clock_type::now() + 5s;
    while (f.wait_for(0s) != std::future_status::ready && clock_type::now() < deadline)
        ioc.run_one_for(100ms);
    BOOST_REQUIRE(f.wait_for(0s) == std::future_status::ready);
    auto [ec, r] = f.get();
    c.close();
    if (ec)
        return reply{};
    return r;
}

/// Subscribers of a shard channel on the node at `port` (-1 when it did not answer).
std::int64_t shard_subscribers(std::uint16_t port, const std::string& channel) {
    const auto r = node_command(port, {"PUBSUB", "SHARDNUMSUB", channel});
    if (r.type != reply::kind::array || r.elements.size() != 2u)
        return -1;
    return r.elements[1].integer;
}

} // namespace

BOOST_AUTO_TEST_CASE(key_slots_follow_the_cluster_specification) {
    BOOST_TEST(key_slot("123456789") == 12739u); // the specification's CRC16 check value, mod 16384
    BOOST_TEST(key_slot("socket.io#/#") == 13868u);
    BOOST_TEST(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
    BOOST_TEST(key_slot("{user1000}.following") == key_slot("user1000"));
    BOOST_TEST(key_slot("foo{}{bar}") == key_slot("foo{}{bar}")); // an empty tag: the whole key
    BOOST_TEST(key_slot("foo{}{bar}") != key_slot("bar"));
    BOOST_TEST(key_slot("foo{{bar}}zap") == key_slot("{bar"));
    BOOST_TEST(key_slot("") == 0u);
}

BOOST_AUTO_TEST_CASE(the_slot_map_is_read_and_checked) {
    const auto t = cluster_topology::from_slots_reply(
        array({range(0, 5460, "10.0.0.1", 7000), range(5461, 10922, "", 7001),
               range(10923, 16383, "10.0.0.1", 7000)}),
        "seed.example");
    BOOST_REQUIRE(t.has_value());
    BOOST_TEST(t->complete());
    BOOST_TEST(t->masters().size() == 2u);
    BOOST_TEST(t->owner(0)->address() == "10.0.0.1:7000");
    BOOST_TEST(t->owner(5461)->address() == "seed.example:7001"); // no host: the node asked
    BOOST_TEST(t->owner(16383)->address() == "10.0.0.1:7000");
    // A NULL or `?` host (a node that does not know its address): the node asked too.
    auto unknown = range(0, 16383, "?", 7002);
    const auto question = cluster_topology::from_slots_reply(array({unknown}), "seed.example");
    BOOST_REQUIRE(question.has_value());
    BOOST_TEST(question->owner(9)->address() == "seed.example:7002");
    unknown.elements[2].elements[0] = reply{}; // nil
    const auto null = cluster_topology::from_slots_reply(array({unknown}), "seed.example");
    BOOST_REQUIRE(null.has_value());
    BOOST_TEST(null->owner(9)->address() == "seed.example:7002");
    const auto partial = cluster_topology::from_slots_reply(array({range(0, 99, "h", 1)}), "s");
    BOOST_REQUIRE(partial.has_value());
    BOOST_TEST(!partial->complete());
    BOOST_TEST(partial->owner(100) == nullptr);
    // Hostile or broken replies.
    BOOST_TEST(!cluster_topology::from_slots_reply(array({range(0, 16384, "h", 1)}), "s"));
    BOOST_TEST(!cluster_topology::from_slots_reply(array({range(10, 9, "h", 1)}), "s"));
    BOOST_TEST(!cluster_topology::from_slots_reply(array({range(-1, 9, "h", 1)}), "s"));
    BOOST_TEST(!cluster_topology::from_slots_reply(array({range(0, 9, "h", 0)}), "s"));
    BOOST_TEST(!cluster_topology::from_slots_reply(array({range(0, 9, "h", 65536)}), "s"));
    BOOST_TEST(!cluster_topology::from_slots_reply(array({range(0, 9, std::string(300, 'h'), 1)}), "s"));
    BOOST_TEST(!cluster_topology::from_slots_reply(array({array({integer(0), integer(9)})}), "s"));
    BOOST_TEST(!cluster_topology::from_slots_reply(string("nope"), "s"));
    BOOST_TEST(!cluster_topology::from_slots_reply(array({integer(1)}), "s"));
}

BOOST_AUTO_TEST_CASE(redirections_are_parsed) {
    const auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381", "seed");
    BOOST_REQUIRE(moved.has_value());
    BOOST_TEST((moved->type == cluster_redirect::kind::moved));
    BOOST_TEST(moved->slot == 3999u);
    BOOST_TEST(moved->to.address() == "127.0.0.1:6381");
    const auto ask = parse_redirect("ASK 1 :6380", "seed");
    BOOST_REQUIRE(ask.has_value());
    BOOST_TEST((ask->type == cluster_redirect::kind::ask));
    BOOST_TEST(ask->to.address() == "seed:6380");
    const auto v6 = parse_redirect("MOVED 7 ::1:7000", "seed");
    BOOST_REQUIRE(v6.has_value());
    BOOST_TEST(v6->to.host == "::1");
    for (const char* bad : {"MOVED", "MOVED 3999", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h:0",
                            "MOVED 1 h:99999", "MOVED 1 h", "ASKING 1 h:1", "ERR unknown", "MOVED -1 h:1"})
        BOOST_TEST(!parse_redirect(bad, "seed"), bad);
    BOOST_TEST(sio::redis_detail::is_cluster_disabled("ERR This instance has cluster support disabled"));
    BOOST_TEST(sio::redis_detail::is_cluster_unavailable("CLUSTERDOWN The cluster is down"));
    BOOST_TEST(sio::redis_detail::is_cluster_unavailable("TRYAGAIN Multiple keys request during rehashing"));
}

namespace {

/// Two servers on a Redis Cluster, each seeded with a different node, one client on each.
struct cluster_servers {
    std::shared_ptr<redis_cluster> redis;
    recorder states;
    std::vector<std::unique_ptr<sio_server>> servers;
    std::vector<std::unique_ptr<sio_client>> clients;
    std::vector<std::string> sids;

    explicit cluster_servers(int replicas = 0) : redis(std::make_shared<redis_cluster>(3, replicas)) {
        BOOST_REQUIRE(redis->start());
        open_servers();
    }
    /// On a cluster another case used (and left serving every slot).
    explicit cluster_servers(std::shared_ptr<redis_cluster> shared) : redis(std::move(shared)) {
        open_servers();
    }
    void open_servers() {
        for (int i = 0; i < 2; ++i) {
            sio::server_options o;
            sio::redis_sharded_options r;
            r.connection.port = redis->port(i);
            r.cluster_seeds = {{"127.0.0.1", redis->port(2)}};
            r.connection.requests_timeout = 10s;
            r.connection.reconnect_min = 20ms;
            r.connection.reconnect_max = 300ms;
            r.connection.connect_timeout = 1s;
            r.connection.on_subscriber_state = [this, i](bool up) {
                states.add(std::to_string(i) + (up ? " up" : " down"));
            };
            o.adapter = sio::redis_sharded_adapter(std::move(r));
            servers.push_back(std::make_unique<sio_server>(std::move(with_health_check(o))));
            install(servers.back()->io().of("/"), servers.back()->log());
            servers.back()->start();
        }
        sync();
        for (int i = 0; i < 2; ++i) {
            clients.push_back(std::make_unique<sio_client>(servers[i]->client()));
            sids.push_back(clients.back()->connect());
            BOOST_REQUIRE(servers[i]->log().wait("connect /"));
        }
    }
    sio::server& io(int i) { return servers[i]->io(); }
    sio_client& client(int i) { return *clients[i]; }
    template <class T>
    T on(int i, boost::asio::awaitable<T> op) {
        auto f = servers[i]->spawn(std::move(op));
        return get(f, 20s);
    }
    void sync() {
        for (int i = 0; i < 2; ++i) {
            const auto ec = on(i, io(i).adapter_ready());
            BOOST_REQUIRE_MESSAGE(!ec, "server " << i << ": " << ec.message());
        }
    }
    /// The index of the master serving `channel`'s slot (from the first node's slot map).
    int owner_of(const std::string& channel) {
        std::optional<cluster_topology> t;
        for (int i = 0; i < redis->size() && !t; ++i) // the first node that answers (one may be down)
            if (redis->node(i).running())
                t = cluster_topology::from_slots_reply(node_command(redis->port(i), {"CLUSTER", "SLOTS"}),
                                                       "127.0.0.1");
        BOOST_REQUIRE(t.has_value());
        const auto* o = t->owner(key_slot(channel));
        BOOST_REQUIRE(o != nullptr);
        for (int i = 0; i < redis->size(); ++i)
            if (redis->port(i) == o->port)
                return i;
        BOOST_FAIL("no such node");
        return -1;
    }
    /// Subscribers of `channel` on each master (index: node).
    std::vector<std::int64_t> counts(const std::string& channel, int nodes = 3) {
        std::vector<std::int64_t> out;
        for (int i = 0; i < nodes; ++i)
            out.push_back(shard_subscribers(redis->port(i), channel));
        return out;
    }
    /// A room whose channel's slot is (`same`) or is not served by master `master`.
    std::string room_on(int master, bool same) {
        for (int i = 0;; ++i) {
            const auto room = "r" + std::to_string(i);
            if ((owner_of("socket.io#/#" + room + "#") == master) == same)
                return room;
        }
    }
    /// Polls until `channel` has `n` subscribers on its owner and none elsewhere.
    bool wait_placed(const std::string& channel, std::int64_t n, duration limit = 10s) {
        for (const auto deadline = clock_type::now() + limit; clock_type::now() < deadline;) {
            const int owner = owner_of(channel);
            const auto c = counts(channel);
            bool ok = true;
            for (int i = 0; i < 3; ++i)
                ok = ok && c[i] == (i == owner ? n : 0);
            if (ok)
                return true;
            std::this_thread::sleep_for(20ms); // polling Redis, not synchronising with the servers
        }
        return false;
    }
};

} // namespace

/// The cases on three masters. They share one cluster (its start is most of their time): each has servers
/// and clients of its own, and the resharding, which moves a slot, runs last.
struct three_masters : cluster_servers {
    using cluster_servers::cluster_servers;
    void channels_on_their_masters_and_every_cross_server_operation();
    void a_master_restarted_on_its_port_comes_back();
    void a_resharded_slot_takes_its_subscriptions_along();
};

void three_masters::channels_on_their_masters_and_every_cross_server_operation() {
    // The namespace channel and each server's response channel, each on the master of its slot.
    BOOST_TEST(wait_placed("socket.io#/#", 2));
    for (int i = 0; i < 2; ++i)
        BOOST_TEST(on(i, io(i).server_count()) == 2u);
    io(0).emit("all", 1);
    BOOST_TEST(client(0).read() == R"(42["all",1])");
    BOOST_TEST(client(1).read() == R"(42["all",1])");
    // Rooms whose channels live on different masters.
    const std::vector<std::string> rooms{"a", "b", "c", "d", "e", "f"};
    std::set<int> owners;
    for (const auto& room : rooms) {
        owners.insert(owner_of("socket.io#/#" + room + "#"));
        BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_join(room)));
    }
    BOOST_TEST(owners.size() >= 2u);
    sync(); // every subscription issued so far confirmed, the clients' included
    // Socket ids have no channel in the dynamic mode (broadcasts to them use the namespace's).
    for (const auto& sid : sids)
        BOOST_TEST(counts("socket.io#/#" + sid + "#") == (std::vector<std::int64_t>{0, 0, 0}));
    for (const auto& room : rooms) {
        BOOST_TEST(wait_placed("socket.io#/#" + room + "#", 1), room);
        io(0).to(room).emit("room", room);
        BOOST_TEST(client(1).read() == R"(42["room",")" + room + R"("])");
    }
    io(1).to(sids[0]).emit("direct", 2);
    BOOST_TEST(client(0).read() == R"(42["direct",2])");
    // fetch_sockets, remote emit with ack, server-side events with acks.
    auto fetched = on(0, io(0).in("a").fetch_sockets());
    BOOST_TEST(!fetched.error);
    BOOST_TEST(ids(fetched) == std::vector<std::string>{sids[1]});
    BOOST_TEST(ids(on(1, io(1).fetch_sockets())) == sorted(sids));
    auto answers = servers[0]->spawn(io(0).timeout(10s).emit_with_ack("q"));
    for (int i = 0; i < 2; ++i) {
        BOOST_TEST(client(i).read() == R"(420["q"])");
        client(i).send(R"(430["ok"])");
    }
    const auto all = get(answers);
    BOOST_TEST(!all.error);
    BOOST_TEST(all.responses.size() == 2u);
    recorder seen;
    io(1).on("hello", [&seen](sio::event& ev) {
        seen.add("one " + boost::json::serialize(ev.args.values));
        ev.ack("from one");
    });
    auto r = on(0, io(0).server_side_emit_with_ack("hello", 7, 10s));
    BOOST_TEST(!r.error);
    BOOST_TEST(r.expected == 1u);
    BOOST_REQUIRE(r.responses.size() == 1u);
    BOOST_TEST(r.responses[0].get<std::string>(0) == "from one");
    BOOST_TEST(seen.wait("one [7]"));
    // A room emptied here: its channel is given up on its master; a disconnection too.
    BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_leave("a")));
    BOOST_TEST(wait_placed("socket.io#/#a#", 0));
    BOOST_TEST(wait_placed("socket.io#/#b#", 1));
    BOOST_TEST(!on(0, io(0).in(sids[1]).disconnect_sockets(true)));
    BOOST_TEST(client(1).closed());
    for (const auto& room : rooms)
        BOOST_TEST(wait_placed("socket.io#/#" + room + "#", 0), room);
}

void three_masters::a_master_restarted_on_its_port_comes_back() {
    const std::string main = "socket.io#/#";
    BOOST_TEST(wait_placed(main, 2));
    const int owner = owner_of(main);
    const auto room = room_on(owner, true); // a room channel on the same master
    BOOST_TEST(!on(1, io(1).in(sids[1]).sockets_join(room)));
    sync();
    BOOST_TEST(wait_placed("socket.io#/#" + room + "#", 1));
    for (int i = 0; i < 2; ++i)
        BOOST_TEST(health_status(*servers[i]) == 200u);
    // No replica takes over: the master is stopped and started again on its port, with its nodes.conf (the
    // same node, serving the same slots), before the cluster marks it failed (cluster-node-timeout 3 s).
    redis->node(owner).stop();
    for (int i = 0; i < 2; ++i)
        BOOST_TEST(wait_health(*servers[i], 503)); // a node in use is down
    io(0).local().emit("local", 1);
    BOOST_TEST(client(0).read() == R"(42["local",1])");
    BOOST_REQUIRE(redis->node(owner).start());
    // A restarted master waits about 2 s before it calls the cluster ok (the next case needs it ok).
    const auto deadline = clock_type::now() + 30s;
    for (int n = 0; n < redis->size(); ++n)
        BOOST_REQUIRE(redis_cluster::wait_ok(redis->port(n), deadline));
    BOOST_TEST(owner_of(main) == owner);
    // The servers dial it again and subscribe there again, without any call.
    for (int i = 0; i < 2; ++i)
        BOOST_TEST(wait_health(*servers[i], 200));
    BOOST_TEST(wait_placed(main, 2));
    BOOST_TEST(wait_placed("socket.io#/#" + room + "#", 1));
    sync();
    for (int i = 0; i < 2; ++i)
        BOOST_TEST(on(i, io(i).server_count()) == 2u);
    // Each command connection reconnects on its own back-off (at most 300 ms here) and drops publications
    // until then: server-side events probe the namespace channel until one crosses.
    recorder seen;
    io(1).on("probe", [&seen](sio::event&) { seen.add("probe"); });
    bool through = false;
    for (const auto until = clock_type::now() + 10s; !through && clock_type::now() < until;) {
        (void)on(0, io(0).server_side_emit("probe"));
        through = seen.wait("probe", 1, 300ms);
    }
    BOOST_REQUIRE(through);
    io(0).emit("after", 2);
    BOOST_TEST(client(0).read() == R"(42["after",2])");
    BOOST_TEST(client(1).read() == R"(42["after",2])");
    io(0).to(room).emit("room", 3);
    BOOST_TEST(client(1).read() == R"(42["room",3])");
}

void three_masters::a_resharded_slot_takes_its_subscriptions_along() {
    const std::string main = "socket.io#/#";
    BOOST_TEST(wait_placed(main, 2));
    BOOST_TEST(!on(0, io(0).in(sids[1]).sockets_join("kept")));
    sync();
    // Move the namespace channel's slot to another master (no keys to migrate: pub/sub only).
    const int from = owner_of(main);
    const int to = (from + 1) % 3;
    const auto slot = std::to_string(key_slot(main));
    const auto from_id = redis_cluster::run(redis->port(from), "cluster myid");
    const auto to_id = redis_cluster::run(redis->port(to), "cluster myid");
    BOOST_REQUIRE(!from_id.empty() && !to_id.empty());
    const auto id = [](std::string s) { return s.substr(0, s.find('\n')); };
    BOOST_TEST(redis_cluster::run(redis->port(to), "cluster setslot " + slot + " importing " + id(from_id)) ==
               "OK\n");
    BOOST_TEST(redis_cluster::run(redis->port(from), "cluster setslot " + slot + " migrating " + id(to_id)) ==
               "OK\n");
    io(0).emit("during", 1); // still served by the old master
    BOOST_TEST(client(0).read() == R"(42["during",1])");
    BOOST_TEST(client(1).read() == R"(42["during",1])");
    BOOST_TEST(redis_cluster::run(redis->port(to), "cluster setslot " + slot + " node " + id(to_id)) ==
               "OK\n");
    BOOST_TEST(redis_cluster::run(redis->port(from), "cluster setslot " + slot + " node " + id(to_id)) ==
               "OK\n");
    // The old master pushed `sunsubscribe`; the servers read the map again and subscribe on the new one.
    for (const auto deadline = clock_type::now() + 10s; owner_of(main) != to && clock_type::now() < deadline;)
        std::this_thread::sleep_for(20ms); // the first node learns the move by gossip
    BOOST_TEST(owner_of(main) == to);
    BOOST_TEST(wait_placed(main, 2));
    sync();
    for (int i = 0; i < 2; ++i)
        BOOST_TEST(on(i, io(i).server_count()) == 2u);
    io(0).emit("after", 2);
    BOOST_TEST(client(0).read() == R"(42["after",2])");
    BOOST_TEST(client(1).read() == R"(42["after",2])");
    io(1).emit("back", 3);
    BOOST_TEST(client(0).read() == R"(42["back",3])");
    BOOST_TEST(client(1).read() == R"(42["back",3])");
    io(0).to("kept").emit("room", 4);
    BOOST_TEST(client(1).read() == R"(42["room",4])");
    BOOST_TEST(ids(on(0, io(0).fetch_sockets())) == sorted(sids));
}

BOOST_AUTO_TEST_CASE(three_masters_one_cluster) {
    auto cluster = std::make_shared<redis_cluster>(3);
    BOOST_REQUIRE(cluster->start());
    {
        BOOST_TEST_CHECKPOINT("channels on their masters and every cross-server operation");
        three_masters(cluster).channels_on_their_masters_and_every_cross_server_operation();
    }
    {
        BOOST_TEST_CHECKPOINT("a master restarted on its port comes back");
        three_masters(cluster).a_master_restarted_on_its_port_comes_back();
    }
    {
        BOOST_TEST_CHECKPOINT("a resharded slot takes its subscriptions along");
        three_masters(cluster).a_resharded_slot_takes_its_subscriptions_along();
    }
}

BOOST_AUTO_TEST_CASE(a_master_killed_its_replica_promoted_delivery_resumes) {
    cluster_servers c(1); // three masters, three replicas
    const std::string main = "socket.io#/#";
    BOOST_TEST(c.wait_placed(main, 2));
    const int owner = c.owner_of(main);
    BOOST_REQUIRE(owner >= 0 && owner < 3);
    // Joined on the socket's own server: applied before it resolves (a join published from the other server
    // could still be in flight when the master dies, and pub/sub loses what a dying node has not delivered).
    BOOST_TEST(!c.on(1, c.io(1).in(c.sids[1]).sockets_join("kept")));
    // A room whose channel lives on another master: the failover does not touch it.
    const auto elsewhere = c.room_on(owner, false);
    BOOST_TEST(!c.on(1, c.io(1).in(c.sids[1]).sockets_join(elsewhere)));
    c.sync();
    BOOST_TEST(c.wait_placed("socket.io#/#" + elsewhere + "#", 1));
    // Kill the master serving the namespace channel (the servers still reach the others).
    c.redis->node(owner).stop(std::chrono::milliseconds(0));
    for (int i = 0; i < 2; ++i)
        BOOST_TEST(wait_health(*c.servers[i], 503)); // a node in use is down
    // Local delivery goes on meanwhile, and so does a room on a surviving master (docs/adapters.md, "During
    // a failover"), before the cluster even noticed (the slot map still names the dead master).
    c.io(0).local().emit("local", 1);
    BOOST_TEST(c.client(0).read() == R"(42["local",1])");
    c.io(0).to(elsewhere).emit("window", 5);
    BOOST_TEST(c.client(1).read() == R"(42["window",5])");
    BOOST_TEST(c.owner_of(main) == owner);
    // A replica is promoted (cluster-node-timeout 3 s); the servers read the map again and subscribe there.
    // Server-side events probe the namespace channel until one crosses.
    recorder seen;
    c.io(1).on("probe", [&seen](sio::event&) { seen.add("probe"); });
    bool resumed = false;
    for (const auto deadline = clock_type::now() + 30s; !resumed && clock_type::now() < deadline;) {
        (void)c.on(0, c.io(0).server_side_emit("probe"));
        resumed = seen.wait("probe", 1, 300ms);
    }
    BOOST_REQUIRE(resumed);
    BOOST_TEST(c.owner_of(main) != owner); // a replica serves the slot now
    c.sync();
    for (int i = 0; i < 2; ++i)
        BOOST_TEST(wait_health(*c.servers[i], 200));
    c.io(0).emit("after", 2);
    BOOST_TEST(c.client(0).read() == R"(42["after",2])");
    BOOST_TEST(c.client(1).read() == R"(42["after",2])");
    c.io(1).emit("back", 3);
    BOOST_TEST(c.client(0).read() == R"(42["back",3])");
    BOOST_TEST(c.client(1).read() == R"(42["back",3])");
    BOOST_TEST(c.on(0, c.io(0).server_count()) == 2u);
    BOOST_TEST(ids(c.on(1, c.io(1).fetch_sockets())) == sorted(c.sids));
    c.io(1).to("kept").emit("room", 4);
    BOOST_TEST(c.client(1).read() == R"(42["room",4])");
}

// The shard router against scripted nodes (fake_redis): what a real cluster cannot show on demand.
namespace {

using sio::redis_detail::cluster_node;
using sio::redis_detail::shard_router;
using sio::redis_detail::subscriber_connection;

std::string bulk(const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}
/// A `CLUSTER SLOTS` reply: slots first..last on 127.0.0.1:port.
std::string slots_reply(int first, int last, std::uint16_t port) {
    return "*1\r\n*3\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) + "\r\n*2\r\n" +
           bulk("127.0.0.1") + ":" + std::to_string(port) + "\r\n";
}
std::string push(const std::string& kind, const std::string& channel, int count) {
    return "*3\r\n" + bulk(kind) + bulk(channel) + ":" + std::to_string(count) + "\r\n";
}

/// A cluster node: `CLUSTER SLOTS` as `map()` says, SSUBSCRIBE confirmed, SPUBLISH as `on_publish` says.
struct scripted_node {
    using publish_handler = std::function<std::string(const fake_redis::command&, std::uint16_t self)>;
    explicit scripted_node(publish_handler p = [](const auto&, std::uint16_t) { return ":1\r\n"; })
        : on_publish(std::move(p)) {
        self = redis.port();
    }
    std::atomic<std::uint16_t> self{0};
    std::atomic<int> last_slot{16383}; ///< the map: 0..last_slot on this node
    const publish_handler on_publish;
    fake_redis redis{[this](const fake_redis::command& c) {
        const std::string verb = c.empty() ? "" : c[0];
        if (verb == "CLUSTER")
            return fake_redis::answer(slots_reply(0, last_slot, self));
        if (verb == "SSUBSCRIBE" && c.size() == 2)
            return fake_redis::answer(push("ssubscribe", c[1], 1));
        if (verb == "SPUBLISH")
            return fake_redis::answer(on_publish(c, self));
        return fake_redis::answer("+OK\r\n");
    }};
};

/// A router on its own io_context thread; drops recorded as "drop <channel>".
struct router_rig {
    boost::asio::io_context ioc;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
    recorder drops;
    std::shared_ptr<shard_router> router;
    std::thread thread;

    /// `channels` are subscribed before the router starts.
    explicit router_rig(std::vector<cluster_node> seeds, sio::redis_detail::endpoint ep = quick(),
                        std::vector<std::string> channels = {}) {
        router = std::make_shared<shard_router>(
            ioc.get_executor(), ep, std::move(seeds), [](std::string_view, std::string_view) {}, [](bool) {},
            [this](const std::string& channel, std::error_code) { drops.add("drop " + channel); });
        if (!channels.empty())
            router->subscribe(channels);
        router->start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~router_rig() {
        if (router)
            router->close();
        router.reset();
        work.reset();
        ioc.stop();
        thread.join();
    }
    static sio::redis_detail::endpoint quick() {
        sio::redis_detail::endpoint ep;
        ep.reconnect_min = 20ms;
        ep.reconnect_max = 200ms;
        ep.connect_timeout = 1s;
        return ep;
    }
    std::error_code synced(duration limit = 5s) {
        auto f = boost::asio::co_spawn(ioc, router->synced(), boost::asio::use_future);
        BOOST_REQUIRE(f.wait_for(limit) == std::future_status::ready);
        return f.get();
    }
};

/// Polls `done` (a state of another thread) until it holds or `limit` passed.
template <class F>
bool eventually(F done, duration limit = 5s) {
    for (const auto deadline = clock_type::now() + limit; clock_type::now() < deadline;) {
        if (done())
            return true;
        std::this_thread::sleep_for(10ms); // polling, not synchronising
    }
    return done();
}

/// 127.0.0.2: loopback, but no scripted node listens there (they bind 127.0.0.1): refused at once.
cluster_node dead(std::uint16_t port) {
    return {"127.0.0.2", port};
}

} // namespace

BOOST_AUTO_TEST_SUITE(scripted_nodes)

BOOST_AUTO_TEST_CASE(a_pushed_sunsubscribe_is_told_from_the_answer_by_its_channel) {
    // The node pushes `sunsubscribe b` (b's slot moved) before answering our SUNSUBSCRIBE a.
    fake_redis node([](const fake_redis::command& c) {
        if (c.size() == 2 && c[0] == "SSUBSCRIBE")
            return fake_redis::answer(push("ssubscribe", c[1], 1));
        if (c.size() == 2 && c[0] == "SUNSUBSCRIBE")
            return fake_redis::answer(push("sunsubscribe", "b", 1) + push("sunsubscribe", c[1], 0));
        return fake_redis::answer("+OK\r\n");
    });
    boost::asio::io_context ioc;
    sio::redis_detail::endpoint ep;
    ep.port = node.port();
    recorder lost;
    subscriber_connection sub(
        ioc.get_executor(), ep, [](std::string_view, std::string_view) {}, {},
        [&lost](std::vector<std::string> channels) {
            for (auto& c : channels)
                lost.add("lost " + c);
        });
    const auto synced = [&] {
        auto f = boost::asio::co_spawn(ioc, sub.synced(), boost::asio::use_future);
        while (f.wait_for(0s) != std::future_status::ready && ioc.run_one_for(5s)) {
        }
        BOOST_REQUIRE(f.wait_for(0s) == std::future_status::ready);
        return f.get();
    };
    sub.ssubscribe({"a"});
    sub.ssubscribe({"b"});
    BOOST_TEST(!synced());
    sub.sunsubscribe({"a"});
    BOOST_TEST(!synced());
    BOOST_TEST(lost.events() == std::vector<std::string>{"lost b"});
    sub.close();
}

BOOST_AUTO_TEST_CASE(a_publication_refused_at_once_is_an_error_for_the_caller) {
    scripted_node a;
    auto ep = router_rig::quick();
    ep.max_queued_bytes = 256;
    router_rig rig({{"127.0.0.1", a.redis.port()}}, ep);
    BOOST_TEST(rig.router->publish("ch", std::string(1000, 'x')) ==
               make_error_code(sio::redis_detail::errc::queue_full));
    BOOST_TEST(!rig.router->publish("ch", "small"));
    rig.router->close();
    BOOST_TEST(rig.router->publish("ch", "late") == make_error_code(sio::redis_detail::errc::closed));
    BOOST_TEST(rig.drops.events().empty()); // told once: to the caller, not as a drop too
}

BOOST_AUTO_TEST_CASE(first_seed_dead_and_a_moved_without_host_goes_to_the_node_that_answered) {
    scripted_node b;
    const auto b_port = b.redis.port();
    scripted_node a([b_port](const fake_redis::command& c, std::uint16_t) {
        return "-MOVED " + std::to_string(key_slot(c[1])) + " :" + std::to_string(b_port) + "\r\n";
    });
    router_rig rig({dead(b.redis.port()), {"127.0.0.1", a.redis.port()}});
    rig.router->subscribe({"ch"});
    BOOST_TEST(!rig.synced()); // the map read from the second seed
    BOOST_TEST((rig.router->current_mode() == shard_router::mode::cluster));
    BOOST_TEST(rig.router->placement().at("ch") == "127.0.0.1:" + std::to_string(a.redis.port()));
    BOOST_TEST(!rig.router->publish("ch", "p"));
    // Sent again to 127.0.0.1 (the node that redirected it), not to the first seed's host.
    BOOST_TEST(b.redis.wait_commands("SPUBLISH", 1));
    BOOST_TEST(rig.drops.events().empty());
}

BOOST_AUTO_TEST_CASE(a_moved_the_map_already_says_reads_no_map) {
    // A late answer: `-MOVED` to the node the map names already (here: the node itself, once).
    std::atomic<int> publications{0};
    scripted_node a([&publications](const fake_redis::command& c, std::uint16_t self) -> std::string {
        if (publications++ > 0)
            return ":1\r\n";
        return "-MOVED " + std::to_string(key_slot(c[1])) + " 127.0.0.1:" + std::to_string(self) + "\r\n";
    });
    router_rig rig({{"127.0.0.1", a.redis.port()}});
    BOOST_TEST(!rig.synced());
    const auto before = rig.router->refreshes();
    BOOST_TEST(!rig.router->publish("ch", "p"));
    BOOST_TEST(a.redis.wait_commands("SPUBLISH", 2)); // sent again to the node named
    BOOST_TEST(!eventually([&] { return rig.router->refreshes() > before; }, 300ms));
    BOOST_TEST(rig.drops.events().empty());
}

BOOST_AUTO_TEST_CASE(ask_targets_outside_the_map_are_capped) {
    std::atomic<int> next{2};
    scripted_node a([&next](const fake_redis::command& c, std::uint16_t self) { // none reachable
        return "-ASK " + std::to_string(key_slot(c[1])) + " 127.0.0." + std::to_string(next++) + ":" +
               std::to_string(self) + "\r\n";
    });
    router_rig rig({{"127.0.0.1", a.redis.port()}});
    BOOST_TEST(!rig.synced());
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(!rig.router->publish("ch", "p"));
    BOOST_TEST(rig.drops.wait("drop ch", 20));
    BOOST_TEST(rig.router->node_count() <= 1 + shard_router::max_off_map_nodes);
}

BOOST_AUTO_TEST_CASE(an_evicted_ask_target_answers_its_publications_in_flight_first) {
    // Five ASK targets outside the map in turn; the first answers once released, so its publication is
    // in flight when the fifth evicts its connection.
    std::promise<void> release;
    auto released = release.get_future().share();
    scripted_node slow([released](const auto&, std::uint16_t) { return released.wait_for(5s), ":1\r\n"; });
    std::vector<std::unique_ptr<scripted_node>> others;
    std::vector<std::uint16_t> targets{slow.redis.port()};
    for (int i = 0; i < 4; ++i)
        targets.push_back(others.emplace_back(std::make_unique<scripted_node>())->redis.port());
    std::atomic<std::size_t> next{0};
    scripted_node a([&](const fake_redis::command& c, std::uint16_t) {
        return "-ASK " + std::to_string(key_slot(c[1])) + " 127.0.0.1:" + std::to_string(targets[next++ % 5]) +
               "\r\n";
    });
    router_rig rig({{"127.0.0.1", a.redis.port()}});
    BOOST_TEST(!rig.synced());
    for (std::size_t i = 0; i < targets.size(); ++i) {
        BOOST_TEST(!rig.router->publish("ch", "p"));
        BOOST_REQUIRE((i == 0 ? slow : *others[i - 1]).redis.wait_commands("SPUBLISH", 1));
    }
    BOOST_TEST(rig.router->node_count() <= 1 + shard_router::max_off_map_nodes);
    release.set_value();
    BOOST_TEST(slow.redis.wait_commands("PING", 1, 5s)); // behind the publication: answered first
    BOOST_TEST(rig.drops.events().empty());
}

BOOST_AUTO_TEST_CASE(unserved_slots_settle_and_are_placed_once_served) {
    scripted_node a;
    a.last_slot = 8191; // slots 8192.. served by nobody (cluster-require-full-coverage no)
    std::string served, unserved;
    for (int i = 0; served.empty() || unserved.empty(); ++i) {
        const auto c = "c" + std::to_string(i);
        (key_slot(c) <= 8191 ? served : unserved) = c;
    }
    router_rig rig({{"127.0.0.1", a.redis.port()}});
    rig.router->subscribe({served, unserved});
    BOOST_TEST(!rig.synced());
    BOOST_TEST(!rig.router->publish(served, "p"));
    BOOST_TEST(rig.router->publish(unserved, "p") == make_error_code(sio::redis_detail::errc::not_connected));
    const auto late = "{" + unserved + "}late"; // the same slot, subscribed once the map is known
    rig.router->subscribe({late});
    BOOST_TEST(!rig.synced());
    a.last_slot = 16383; // the slots are assigned: the map read again in the background finds them
    BOOST_TEST(eventually([&] { return !rig.router->publish(unserved, "p"); }));
    BOOST_TEST(!rig.synced());
    const auto subs = a.redis.commands();
    BOOST_TEST(std::count(subs.begin(), subs.end(), fake_redis::command{"SSUBSCRIBE", late}) == 1);
}

BOOST_AUTO_TEST_CASE(a_cancelled_synced_call_leaves_no_waiter) {
    router_rig rig({dead(1)}); // never settles
    boost::asio::cancellation_signal cancel;
    auto f =
        boost::asio::co_spawn(rig.ioc, rig.router->synced(),
                              boost::asio::bind_cancellation_slot(cancel.slot(), boost::asio::use_future));
    BOOST_TEST(eventually([&] { return rig.router->settle_waiter_count() == 1u; }));
    boost::asio::post(rig.ioc, [&cancel] { cancel.emit(boost::asio::cancellation_type::terminal); });
    BOOST_REQUIRE(f.wait_for(5s) == std::future_status::ready);
    BOOST_TEST(rig.router->settle_waiter_count() == 0u);
}

BOOST_AUTO_TEST_CASE(close_ends_the_back_off_wait) {
    auto ep = router_rig::quick();
    ep.reconnect_min = ep.reconnect_max = 30s;
    // The map names a node nobody can reach for the channel: the maintainer waits out its back-off.
    fake_redis seed([&](const fake_redis::command& c) {
        return fake_redis::answer(c[0] == "CLUSTER" ? slots_reply(0, 16383, 1) : "+OK\r\n");
    });
    router_rig rig({{"127.0.0.1", seed.port()}}, ep, {"ch"});
    BOOST_TEST(eventually([&] { return rig.router->refreshes() >= 1u; }));
    std::weak_ptr<shard_router> weak = rig.router;
    rig.router->close();
    rig.router.reset();
    BOOST_TEST(eventually([&] { return weak.expired(); }, 3s));
}

BOOST_AUTO_TEST_SUITE_END()
