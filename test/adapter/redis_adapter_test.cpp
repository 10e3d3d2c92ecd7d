// The Redis adapter between C++ servers on a real redis-server (started by the test on a free loopback
// port): every utility method across two servers, binary broadcasts, server-side events, Redis down at
// start, killed and restarted mid-run, and hostile messages on the adapter's channels. Interop with Node's
// @socket.io/redis-adapter is tested in test/interop/redis.test.mjs.
#include <sio/adapter/redis.hpp>
#include <sio/sio.hpp>

#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "adapter/redis/connection.hpp"
#include "support/fake_redis.hpp"
#include "support/health_check.hpp"
#include "support/redis_server.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;

namespace {

/// Two servers on one Redis, one client on each.
struct redis_cluster {
    redis_server redis;
    recorder states;
    std::optional<sio_server> one, two;
    std::optional<sio_client> a, b;
    std::string ida, idb;

    redis_cluster() {
        BOOST_REQUIRE(redis.start());
        one.emplace(options("one"));
        two.emplace(options("two"));
        for (auto* s : {&*one, &*two}) {
            install(s->io().of("/"), s->log());
            s->start();
        }
        // The adapter of "/" exists since `of("/")`: wait until both are subscribed.
        BOOST_REQUIRE(states.wait("one up"));
        BOOST_REQUIRE(states.wait("two up"));
        a.emplace(one->client());
        b.emplace(two->client());
        ida = a->connect();
        idb = b->connect();
        BOOST_REQUIRE(one->log().wait("connect /"));
        BOOST_REQUIRE(two->log().wait("connect /"));
    }

    sio::server_options options(const std::string& name) {
        sio::server_options o;
        sio::redis_options r;
        r.port = redis.port();
        r.requests_timeout = 1s;
        r.reconnect_min = 20ms;
        r.reconnect_max = 200ms;
        r.on_subscriber_state = [this, name](bool up) { states.add(name + (up ? " up" : " down")); };
        o.adapter = sio::redis_adapter(std::move(r));
        return with_health_check(o);
    }
    template <class T>
    T on_one(boost::asio::awaitable<T> op) {
        auto f = one->spawn(std::move(op));
        return get(f, 10s);
    }
    /// A raw connection to the test's Redis (to publish by hand).
    void publish(const std::string& channel, const std::string& payload) {
        boost::asio::io_context ioc;
        sio::redis_detail::endpoint ep;
        ep.port = redis.port();
        sio::redis_detail::command_connection c(ioc.get_executor(), ep);
        auto f =
            boost::asio::co_spawn(ioc, c.command({"PUBLISH", channel, payload}), boost::asio::use_future);
        const auto deadline = clock_type::now() + 5s;
        while (f.wait_for(0s) != std::future_status::ready && clock_type::now() < deadline)
            ioc.run_one_for(100ms);
        BOOST_REQUIRE(f.wait_for(0s) == std::future_status::ready);
        BOOST_REQUIRE(!f.get().first);
        c.close();
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(two_servers, redis_cluster)

BOOST_AUTO_TEST_CASE(utility_methods_across_redis) {
    auto& io = one->io();
    BOOST_TEST(on_one(io.server_count()) == 2u);
    BOOST_TEST(!on_one(io.in(idb).sockets_join("shared")));
    auto sb = two->log().find_socket(idb);
    boost::asio::post(sb.executor(), [sb] { sb.data() = boost::json::object{{"name", "bob"}}; });
    auto fetched = on_one(io.in("shared").fetch_sockets());
    BOOST_TEST(!fetched.error);
    BOOST_TEST(ids(fetched) == std::vector<std::string>{idb});
    BOOST_REQUIRE(fetched.size() == 1u);
    const auto rs = *fetched.begin();
    BOOST_TEST(sorted(rs.rooms()) == sorted({idb, "shared"}));
    BOOST_TEST(boost::json::serialize(rs.data()) == R"({"name":"bob"})");
    BOOST_TEST(rs.handshake().url.starts_with("/socket.io/"));
    io.to("shared").emit("hi", "there", 15);
    BOOST_TEST(b->read() == R"(42["hi","there",15])");
    // Everything, both servers; local() only this one.
    BOOST_TEST(ids(on_one(io.fetch_sockets())) == sorted({ida, idb}));
    BOOST_TEST(ids(on_one(io.local().fetch_sockets())) == std::vector<std::string>{ida});
    // The remote socket, used like a local one.
    rs.emit("direct", 2);
    BOOST_TEST(b->read() == R"(42["direct",2])");
    auto answer = one->spawn(rs.timeout(2s).emit_with_ack("ask"));
    BOOST_TEST(b->read() == R"(420["ask"])");
    b->send(R"(430["from two"])");
    const auto r = get(answer);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.args.get<std::string>(0) == "from two");
    BOOST_TEST(!on_one(rs.leave("shared")));
    BOOST_TEST(on_one(io.in("shared").fetch_sockets()).size() == 0u);
    auto rooms = on_one(io.of("/").adapter().all_rooms());
    BOOST_TEST(!rooms.error);
    BOOST_TEST(sorted(rooms.rooms) == sorted({ida, idb}));
    // Broadcast with acks, clients on both servers.
    auto answers = one->spawn(io.timeout(2s).emit_with_ack("q"));
    BOOST_TEST(a->read() == R"(420["q"])"); // a's first ack id
    a->send(R"(430["ok"])");
    BOOST_TEST(b->read() == R"(421["q"])"); // b answered "ask" with id 0
    b->send(R"(431["ok"])");
    const auto all = get(answers);
    BOOST_TEST(!all.error);
    BOOST_TEST(all.responses.size() == 2u);
    // Disconnect over there.
    BOOST_TEST(!on_one(rs.disconnect(true)));
    BOOST_TEST(b->closed());
    BOOST_TEST(two->log().wait("disconnect / server namespace disconnect"));
}

BOOST_AUTO_TEST_CASE(binary_arguments_cross_redis) {
    one->io().emit("bin", sio::binary{std::string("\x01\x02\x03", 3)}, "text");
    BOOST_TEST(b->read() == R"(451-["bin",{"_placeholder":true,"num":0},"text"])");
    BOOST_TEST(b->read_binary() == std::string("\x01\x02\x03", 3));
}

BOOST_AUTO_TEST_CASE(server_side_events_across_redis) {
    recorder seen;
    one->io().on("hello", [&seen](sio::event&) { seen.add("one"); });
    two->io().on("hello", [&seen](sio::event& ev) {
        seen.add("two " + boost::json::serialize(ev.args.values));
        ev.ack("two answers");
    });
    BOOST_TEST(!on_one(one->io().server_side_emit("hello", 1, "a")));
    BOOST_TEST(seen.wait(R"(two [1,"a"])"));
    auto r = on_one(one->io().server_side_emit_with_ack("hello", 2, 2s));
    BOOST_TEST(!r.error);
    BOOST_TEST(r.expected == 1u);
    BOOST_REQUIRE(r.responses.size() == 1u);
    BOOST_TEST(r.responses[0].get<std::string>(0) == "two answers");
    BOOST_TEST(seen.count("one") == 0u);
    // No handler over there: a timeout with what arrived (nothing).
    auto none = on_one(one->io().server_side_emit_with_ack("nobody", 300ms));
    BOOST_TEST((none.error == sio::error::cluster_timeout));
    BOOST_TEST(none.answered == 0u);
}

BOOST_AUTO_TEST_CASE(hostile_messages_are_dropped) {
    // Each dropped message is a warning of the adapter scope, which reaches an application's sink.
    std::mutex warnings_mutex;
    std::vector<std::string> warnings;
    sio::set_log_sink([&](const sio::log_record& r) {
        if (r.scope == sio::log_scope::adapter && r.level == sio::log_level::warning) {
            std::lock_guard lock(warnings_mutex);
            warnings.emplace_back(r.message);
        }
    });
    const std::string bcast = "socket.io#/#";
    const std::string request = "socket.io-request#/#";
    const std::string response = "socket.io-response#/#";
    for (const std::string payload :
         {std::string("\xc1"), std::string("\x93\xa1"), std::string("\xdd\xff\xff\xff\xff"),
          std::string("\x93\xa3uid\x01\x02"), std::string("\x91\xc0")}) {
        publish(bcast, payload);
        publish(request, payload);
        publish(response, payload);
    }
    for (const std::string json :
         {std::string("{"), std::string(R"({"type":42,"uid":"x"})"), std::string(R"({"type":"2","uid":7})"),
          std::string(R"({"type":5,"uid":"x","requestId":3})"),
          std::string(R"({"type":2,"uid":"x","opts":{"rooms":{}},"rooms":[1,{}]})"),
          std::string(R"({"requestId":"zz","sockets":[1,2]})"), std::string(R"([[[[[[]]]]]])")}) {
        publish(request, json);
        publish(response, json);
    }
    // Still serving, across servers.
    one->io().emit("after", "garbage");
    BOOST_TEST(b->read() == R"(42["after","garbage"])");
    sio::set_log_sink({});
    std::lock_guard lock(warnings_mutex);
    const auto dropped = [&](std::string_view channel) {
        return std::count_if(warnings.begin(), warnings.end(), [&](const std::string& w) {
            return w.find("dropped a message on " + std::string(channel)) != std::string::npos;
        });
    };
    BOOST_TEST(dropped(bcast) >= 5); // every msgpack payload, on each server
    BOOST_TEST(dropped(request) >= 5);
}

BOOST_AUTO_TEST_CASE(redis_killed_and_restarted) {
    BOOST_TEST(health_status(*one) == 200u);
    redis.stop();
    BOOST_TEST(states.wait("one down"));
    BOOST_TEST(states.wait("two down"));
    // The health check tells the load balancer (the subscriber is down: said at once).
    BOOST_TEST(health_status(*one) == 503u);
    BOOST_TEST(health_status(*two) == 503u);
    // Local delivery goes on; cluster requests fail cleanly, without waiting forever.
    one->io().local().emit("local", 1);
    BOOST_TEST(a->read() == R"(42["local",1])");
    auto fetched = on_one(one->io().fetch_sockets());
    BOOST_TEST(static_cast<bool>(fetched.error));
    BOOST_TEST(ids(fetched) == std::vector<std::string>{ida});
    // Back: the adapters re-subscribe and cross-server delivery resumes.
    BOOST_REQUIRE(redis.restart());
    BOOST_TEST(states.wait("one up", 2));
    BOOST_TEST(states.wait("two up", 2));
    BOOST_TEST(health_status(*one) == 200u);
    BOOST_TEST(health_status(*two) == 200u);
    // "up" is the subscriber; each command connection reconnects on its own back-off (at most 200 ms
    // here) and drops publications until then: wait until a cluster request goes through both ways.
    for (auto* server : {&*one, &*two}) {
        bool through = false;
        for (const auto deadline = clock_type::now() + 5s; !through && clock_type::now() < deadline;) {
            auto f = server->spawn(server->io().fetch_sockets());
            through = !get(f, 10s).error;
        }
        BOOST_REQUIRE(through);
    }
    one->io().emit("again", 2);
    BOOST_TEST(b->read() == R"(42["again",2])");
    BOOST_TEST(a->read() == R"(42["again",2])");
}

BOOST_AUTO_TEST_CASE(adapter_ready_waits_for_the_subscriptions) {
    BOOST_TEST(!on_one(one->io().adapter_ready())); // subscribed already
    // A namespace created now: once Redis confirmed its own subscriptions.
    BOOST_TEST(!on_one(one->io().of("/later").adapter_ready()));
    redis.stop();
    BOOST_TEST(states.wait("one down"));
    auto waiting = one->spawn(one->io().adapter_ready());
    BOOST_TEST(static_cast<bool>(on_one(one->io().fetch_sockets()).error)); // the cluster is unreachable
    BOOST_TEST((waiting.wait_for(0s) == std::future_status::timeout));
    BOOST_REQUIRE(redis.restart());
    BOOST_TEST(!get(waiting, 10s));
    BOOST_TEST(states.wait("one up", 2)); // the subscriber reports the same
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(redis_down_at_start) {
    const auto port = redis_server::free_port(); // nothing listens there
    recorder states;
    sio::server_options o;
    sio::redis_options r;
    r.port = port;
    r.requests_timeout = 500ms;
    r.reconnect_min = 20ms;
    r.reconnect_max = 100ms;
    o.adapter = sio::redis_adapter(std::move(r));
    sio_server ts(std::move(o));
    install(ts.io().of("/"), ts.log());
    ts.start();
    auto c = ts.client();
    const auto id = c.connect();
    ts.io().emit("still", "local");
    BOOST_TEST(c.read() == R"(42["still","local"])");
    auto f = ts.spawn(ts.io().fetch_sockets());
    const auto fetched = get(f, 10s);
    BOOST_TEST(static_cast<bool>(fetched.error));
    BOOST_TEST(ids(fetched) == std::vector<std::string>{id});
    auto e = ts.spawn(ts.io().server_side_emit("x"));
    BOOST_TEST(static_cast<bool>(get(e)));
}

namespace {

/// The adapter's warnings, as an application's log sink receives them (the sink is restored at the end).
class adapter_warnings {
public:
    adapter_warnings() {
        sio::set_log_sink([this](const sio::log_record& r) {
            if (r.scope != sio::log_scope::adapter || r.level != sio::log_level::warning)
                return;
            std::lock_guard lock(mutex_);
            lines_.emplace_back(r.message);
            cv_.notify_all();
        });
    }
    ~adapter_warnings() { sio::set_log_sink({}); }
    adapter_warnings(const adapter_warnings&) = delete;
    adapter_warnings& operator=(const adapter_warnings&) = delete;

    /// The lines that contain `text`.
    std::vector<std::string> with(std::string_view text) const {
        std::lock_guard lock(mutex_);
        return with_locked(text);
    }
    /// Waits until a line contains `text`.
    bool wait(std::string_view text, duration limit = 10s) const {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [&] { return !with_locked(text).empty(); });
    }

private:
    std::vector<std::string> with_locked(std::string_view text) const {
        std::vector<std::string> out;
        for (const auto& l : lines_)
            if (l.find(text) != std::string::npos)
                out.push_back(l);
        return out;
    }
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::vector<std::string> lines_;
};

/// A server with one namespace ("/") on the Redis adapter configured by `r`.
std::unique_ptr<sio_server> server_on(sio::redis_options r) {
    sio::server_options o;
    o.adapter = sio::redis_adapter(std::move(r));
    auto s = std::make_unique<sio_server>(std::move(o));
    install(s->io().of("/"), s->log());
    s->start();
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(unhealthy_redis)

BOOST_AUTO_TEST_CASE(stalled_redis_drops_publications) {
    // A Redis that accepts and never reads (stopped): publications fill the socket buffers, then the
    // outgoing queue up to its cap; beyond it they are dropped, counted and logged.
    adapter_warnings warnings;
    fake_redis redis(fake_redis::mode::never_read);
    sio::redis_options r;
    r.port = redis.port();
    r.command_timeout = 60s; // the stall shows through the queue only
    r.max_queued_bytes = 2 * 1024 * 1024;
    auto ts = server_on(std::move(r));
    const auto start = clock_type::now();
    const std::string chat(100 * 1024, 'x');
    // 300 chats of 100 KB: 30 MB, far more than the socket buffers and the queue hold together.
    for (int i = 0; i < 300; ++i)
        ts->io().emit("chat", chat);
    BOOST_TEST(warnings.wait("dropped a publication on socket.io#/#"));
    // An operation that reports its result says why.
    std::error_code last;
    for (int i = 0; i < 300 && !last; ++i) {
        auto e = ts->spawn(ts->io().server_side_emit("chat", chat));
        last = get(e);
    }
    BOOST_TEST(last.message() == "redis outgoing queue full");
    BOOST_TEST(last.category().name() == std::string("sio.redis"));
    // Counted, and logged at most once a second.
    const auto lines = warnings.with("dropped a publication");
    BOOST_REQUIRE(!lines.empty());
    BOOST_TEST(lines.front().find("dropped so far") != std::string::npos);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(clock_type::now() - start).count();
    BOOST_TEST(static_cast<long long>(lines.size()) <= seconds + 1);
}

BOOST_AUTO_TEST_CASE(silent_redis_requests_share_one_count) {
    // A Redis that accepts and never answers: the server count's NUMSUB times out after
    // command_timeout, the connection is recycled (and stays down for its back-off delay), and the
    // requests fail well before requests_timeout. Concurrent requests share one NUMSUB.
    fake_redis redis;
    sio::redis_options r;
    r.port = redis.port();
    r.requests_timeout = 3s;
    r.command_timeout = 200ms;
    r.reconnect_min = 10s;
    r.reconnect_max = 10s;
    auto ts = server_on(std::move(r));
    const auto start = clock_type::now();
    std::vector<std::future<sio::fetch_sockets_result>> requests;
    for (int i = 0; i < 10; ++i)
        requests.push_back(ts->spawn(ts->io().fetch_sockets()));
    for (auto& f : requests) {
        const auto fetched = get(f, 20s);
        BOOST_TEST(static_cast<bool>(fetched.error));
    }
    // One NUMSUB timeout (200 ms), not one requests_timeout (3 s) or two.
    BOOST_TEST((clock_type::now() - start < 2s));
    BOOST_TEST(redis.count("PUBSUB") == 1u);
}

BOOST_AUTO_TEST_CASE(a_request_waits_one_requests_timeout) {
    // No command deadline: the NUMSUB is bounded by requests_timeout, and the wait for answers gets
    // what is left of it (here nothing): one requests_timeout in all, not two.
    fake_redis redis;
    sio::redis_options r;
    r.port = redis.port();
    r.requests_timeout = 1s;
    r.command_timeout = 0ms;
    auto ts = server_on(std::move(r));
    const auto start = clock_type::now();
    auto f = ts->spawn(ts->io().fetch_sockets());
    const auto fetched = get(f, 20s);
    const auto took = clock_type::now() - start;
    BOOST_TEST((fetched.error == sio::error::cluster_timeout));
    BOOST_TEST((took >= 1s));
    BOOST_TEST((took < 1700ms));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(recovery_on_the_classic_adapter_says_so_and_appends_nothing) {
    redis_server redis;
    BOOST_REQUIRE(redis.start());
    std::mutex m;
    std::vector<std::string> warnings;
    sio::set_log_sink([&m, &warnings](const sio::log_record& r) {
        if (r.level != sio::log_level::warning)
            return;
        std::lock_guard lock(m);
        warnings.emplace_back(r.message);
    });
    {
        sio::server_options o;
        sio::redis_options r;
        r.port = redis.port();
        o.adapter = sio::redis_adapter(std::move(r));
        o.connection_state_recovery = sio::connection_state_recovery_options{};
        sio_server s(std::move(o));
        install(s.io().of("/"), s.log());
        s.start();
        auto c = s.client();
        c.send("40");
        const auto answer = c.read();
        BOOST_TEST(answer.starts_with("40{"));
        BOOST_TEST(answer.find("\"pid\"") == std::string::npos); // nothing to recover with
        BOOST_REQUIRE(s.log().wait("connect /"));
        s.io().emit("plain", 1);
        BOOST_TEST(c.read() == R"(42["plain",1])"); // no offset appended
    }
    sio::set_log_sink({});
    std::lock_guard lock(m);
    BOOST_TEST(std::count_if(warnings.begin(), warnings.end(), [](const std::string& w) {
                   return w.find("cannot recover sessions") != std::string::npos;
               }) == 1);
}
