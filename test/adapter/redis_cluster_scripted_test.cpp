// The shard router of the sharded Redis adapter against scripted nodes (fake_redis), part of
// redis_cluster_test: what a real cluster cannot show on demand (a pushed sunsubscribe racing an answer,
// refusals, redirections, unserved slots, evicted redirection targets, close).
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
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
#include "support/sio_loopback.hpp"

using namespace sio_test;
using sio::redis_detail::key_slot;

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
        return "-ASK " + std::to_string(key_slot(c[1])) +
               " 127.0.0.1:" + std::to_string(targets[next++ % 5]) + "\r\n";
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
