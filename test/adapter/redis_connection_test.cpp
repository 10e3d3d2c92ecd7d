// Tests of the private Redis connections (src/adapter/redis/connection.hpp) against a real redis-server
// started by the test on a free loopback port (support/redis_server.hpp), and against hostile local
// servers that answer garbage. Every wait is bounded; no sleep is used as synchronisation (retries while a
// connection waits out its back-off delay are bounded polls).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapter/redis/connection.hpp"
#include "support/fake_redis.hpp"
#include "support/redis_server.hpp"

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using sio::redis_detail::command_connection;
using sio::redis_detail::endpoint;
using sio::redis_detail::errc;
using sio::redis_detail::reply;
using sio::redis_detail::subscriber_connection;
using sio_test::fake_redis;
using sio_test::redis_server;
using result = std::pair<std::error_code, reply>;
using kind = reply::kind;

namespace {

constexpr auto limit = 10s;

template <class... A>
std::vector<std::string> cmd(A&&... a) {
    std::vector<std::string> v;
    (v.emplace_back(std::forward<A>(a)), ...);
    return v;
}

/// An io_context run by four threads.
struct io_threads {
    net::io_context ioc{4};
    net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(ioc);
    std::vector<std::thread> threads;

    io_threads() {
        for (int i = 0; i < 4; ++i)
            threads.emplace_back([this] { ioc.run(); });
    }
    ~io_threads() {
        guard.reset();
        ioc.stop();
        for (auto& t : threads)
            t.join();
    }
    net::any_io_executor ex() { return ioc.get_executor(); }

    template <class T>
    T wait(net::awaitable<T> op, std::chrono::seconds within = limit) {
        auto f = net::co_spawn(ioc, std::move(op), net::use_future);
        BOOST_REQUIRE_MESSAGE(f.wait_for(within) == std::future_status::ready, "operation timed out");
        return f.get();
    }
    result run(command_connection& c, std::vector<std::string> args) {
        return wait(c.command(std::move(args)));
    }
};

endpoint local(std::uint16_t port) {
    endpoint ep;
    ep.port = port;
    ep.connect_timeout = 2s;
    ep.reconnect_min = 20ms;
    ep.reconnect_max = 200ms;
    return ep;
}

/// `local`, waiting 10 s before reconnecting: once down, a connection stays down (commands fail at once).
endpoint slow_retry(std::uint16_t port) {
    auto ep = local(port);
    ep.reconnect_min = 10s;
    ep.reconnect_max = 10s;
    return ep;
}

/// What a subscriber saw.
struct inbox {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::pair<std::string, std::string>> messages;
    std::vector<bool> states;

    subscriber_connection::message_handler on_message() {
        return [this](std::string_view c, std::string_view p) {
            std::lock_guard lock(mutex);
            messages.emplace_back(std::string(c), std::string(p));
            cv.notify_all();
        };
    }
    subscriber_connection::state_handler on_state() {
        return [this](bool up) {
            std::lock_guard lock(mutex);
            states.push_back(up);
            cv.notify_all();
        };
    }
    bool wait_message(const std::string& channel, const std::string& payload) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, limit, [&] {
            return std::find(messages.begin(), messages.end(), std::make_pair(channel, payload)) !=
                   messages.end();
        });
    }
    /// Waits until `up` was reported `n` times.
    bool wait_state(bool up, std::size_t n = 1) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, limit, [&] {
            return static_cast<std::size_t>(std::count(states.begin(), states.end(), up)) >= n;
        });
    }
    std::size_t message_count() {
        std::lock_guard lock(mutex);
        return messages.size();
    }
    std::vector<bool> state_log() {
        std::lock_guard lock(mutex);
        return states;
    }
};

/// Fixture: a redis-server of the test's own, started.
struct started_redis {
    redis_server redis;
    started_redis() { BOOST_REQUIRE(redis.start()); }
};

/// Fixture: ... with four I/O threads and a command connection `c` to it.
struct redis_and_command : started_redis {
    io_threads io;
    command_connection c{io.ex(), local(redis.port())};
};

/// Fixture: ... and a subscriber `s` to it too, reporting to `box`.
struct redis_and_both : redis_and_command {
    inbox box;
    subscriber_connection s{io.ex(), local(redis.port()), box.on_message(), box.on_state()};
};

/// Repeats `args` until its result satisfies `done` (a connection waits out its back-off delay between
/// attempts; a server takes its time to notice a client went away), at most `limit`; the last result.
net::awaitable<result> until(command_connection& c, std::vector<std::string> args,
                             std::function<bool(const result&)> done) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    net::steady_timer timer(co_await net::this_coro::executor);
    for (;;) {
        result r = co_await c.command(args);
        if (done(r) || std::chrono::steady_clock::now() > deadline)
            co_return r;
        timer.expires_after(20ms);
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
}

bool succeeded(const result& r) {
    return !r.first;
}
bool reached_nobody(const result& r) {
    return !r.first && r.second.type == kind::integer && r.second.integer == 0;
}

/// A local server that answers the first read of each connection with `response` (nothing when empty),
/// then keeps the connection open, reading, until the peer closes it.
class hostile_server {
public:
    explicit hostile_server(std::string response)
        : acceptor_(
              std::make_shared<tcp::acceptor>(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0))) {
        net::co_spawn(ioc_, serve(acceptor_, std::move(response), accepted_), net::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~hostile_server() {
        ioc_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_->local_endpoint().port(); }
    int accepted() const { return accepted_->get(); }
    /// Waits until `n` connections were accepted.
    bool wait_accepted(int n) { return accepted_->wait(n); }

private:
    static net::awaitable<void> session(tcp::socket socket, std::string response) {
        std::vector<char> buf(4096);
        auto [ec, n] = co_await socket.async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
        if (ec)
            co_return;
        if (!response.empty()) {
            auto [wec, written] =
                co_await net::async_write(socket, net::buffer(response), net::as_tuple(net::use_awaitable));
            if (wec)
                co_return;
        }
        for (;;) {
            auto [rec, m] =
                co_await socket.async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
            if (rec)
                co_return;
        }
    }
    struct counter {
        std::mutex mutex;
        std::condition_variable cv;
        int n = 0;
        void add() {
            std::lock_guard lock(mutex);
            ++n;
            cv.notify_all();
        }
        int get() {
            std::lock_guard lock(mutex);
            return n;
        }
        bool wait(int target) {
            std::unique_lock lock(mutex);
            return cv.wait_for(lock, limit, [&] { return n >= target; });
        }
    };
    static net::awaitable<void> serve(std::shared_ptr<tcp::acceptor> acceptor, std::string response,
                                      std::shared_ptr<counter> accepted) {
        for (;;) {
            auto [ec, socket] = co_await acceptor->async_accept(net::as_tuple(net::use_awaitable));
            if (ec)
                co_return;
            accepted->add();
            net::co_spawn(acceptor->get_executor(), session(std::move(socket), response), net::detached);
        }
    }

    net::io_context ioc_;
    std::shared_ptr<tcp::acceptor> acceptor_;
    std::shared_ptr<counter> accepted_ = std::make_shared<counter>();
    std::thread thread_;
};

} // namespace

BOOST_AUTO_TEST_SUITE(commands)

BOOST_FIXTURE_TEST_CASE(every_reply_kind, redis_and_command) {
    BOOST_TEST(!c.connected()); // lazy

    auto r = io.run(c, cmd("PING"));
    BOOST_REQUIRE(!r.first);
    BOOST_TEST((r.second.type == kind::status));
    BOOST_TEST(r.second.str == "PONG");
    BOOST_TEST(c.connected());

    r = io.run(c, cmd("SET", "k", "v"));
    BOOST_TEST((r.second.type == kind::status));
    BOOST_TEST(r.second.str == "OK");

    r = io.run(c, cmd("GET", "k"));
    BOOST_TEST((r.second.type == kind::string));
    BOOST_TEST(r.second.str == "v");

    r = io.run(c, cmd("GET", "missing"));
    BOOST_TEST(!r.first);
    BOOST_TEST((r.second.type == kind::nil));

    r = io.run(c, cmd("INCRBY", "n", "-42"));
    BOOST_TEST((r.second.type == kind::integer));
    BOOST_TEST(r.second.integer == -42);

    r = io.run(c, cmd("NO-SUCH-COMMAND", "x"));
    BOOST_TEST(!r.first); // an error reply is a reply
    BOOST_TEST((r.second.type == kind::error));
    BOOST_TEST(r.second.str.starts_with("ERR"));

    // Binary-safe and empty strings, and a value larger than a read chunk.
    std::string binary("a\0b\r\nc", 6);
    std::string big(1 << 20, 'x');
    big[12345] = '\n';
    BOOST_TEST(io.run(c, cmd("SET", "bin", binary)).second.str == "OK");
    BOOST_TEST(io.run(c, cmd("GET", "bin")).second.str == binary);
    BOOST_TEST(io.run(c, cmd("SET", "empty", "")).second.str == "OK");
    r = io.run(c, cmd("GET", "empty"));
    BOOST_TEST((r.second.type == kind::string));
    BOOST_TEST(r.second.str.empty());
    BOOST_TEST(io.run(c, cmd("SET", "big", big)).second.str == "OK");
    BOOST_TEST(io.run(c, cmd("GET", "big")).second.str == big);

    // Arrays: flat, empty, with nil elements, nested.
    io.run(c, cmd("RPUSH", "list", "a", "b", "c"));
    r = io.run(c, cmd("LRANGE", "list", "0", "-1"));
    BOOST_REQUIRE((r.second.type == kind::array));
    BOOST_REQUIRE(r.second.elements.size() == 3u);
    BOOST_TEST(r.second.elements[2].str == "c");
    r = io.run(c, cmd("LRANGE", "nolist", "0", "-1"));
    BOOST_TEST((r.second.type == kind::array));
    BOOST_TEST(r.second.elements.empty());
    r = io.run(c, cmd("MGET", "k", "missing"));
    BOOST_REQUIRE(r.second.elements.size() == 2u);
    BOOST_TEST((r.second.elements[1].type == kind::nil));
    r = io.run(c,
               cmd("EVAL", "return {1, {'two', {3}}, redis.status_reply('S'), redis.error_reply('E')}", "0"));
    BOOST_REQUIRE((r.second.type == kind::array));
    BOOST_REQUIRE(r.second.elements.size() == 4u);
    BOOST_TEST(r.second.elements[0].integer == 1);
    BOOST_REQUIRE(r.second.elements[1].elements.size() == 2u);
    BOOST_TEST(r.second.elements[1].elements[0].str == "two");
    BOOST_TEST(r.second.elements[1].elements[1].elements[0].integer == 3);
    BOOST_TEST((r.second.elements[2].type == kind::status));
    BOOST_TEST((r.second.elements[3].type == kind::error));
    BOOST_TEST(r.second.elements[3].str.ends_with("E")); // "ERR E" with Redis 7

    // An empty command is refused before it reaches Redis (it would get no reply).
    BOOST_TEST((io.run(c, {}).first == errc::invalid_command));
    BOOST_TEST((c.send({}) == errc::invalid_command));
    BOOST_TEST(io.run(c, cmd("PING")).second.str == "PONG");
}

BOOST_FIXTURE_TEST_CASE(pipelining_from_many_threads, redis_and_command) {

    constexpr int threads = 8, per_thread = 300;
    std::vector<std::vector<std::future<result>>> futures(threads);
    {
        std::vector<std::thread> issuers;
        for (int t = 0; t < threads; ++t)
            issuers.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i)
                    futures[t].push_back(net::co_spawn(
                        io.ioc, c.command(cmd("ECHO", "t" + std::to_string(t) + "-" + std::to_string(i))),
                        net::use_future));
            });
        for (auto& i : issuers)
            i.join();
    }
    int ok = 0;
    for (int t = 0; t < threads; ++t)
        for (int i = 0; i < per_thread; ++i) {
            auto& f = futures[t][i];
            BOOST_REQUIRE(f.wait_for(limit) == std::future_status::ready);
            auto r = f.get();
            if (!r.first && r.second.str == "t" + std::to_string(t) + "-" + std::to_string(i))
                ++ok;
        }
    BOOST_TEST(ok == threads * per_thread);

    // Fire-and-forget from several threads; a command issued after them sees them all.
    {
        std::vector<std::thread> senders;
        std::atomic<int> accepted{0};
        for (int t = 0; t < 4; ++t)
            senders.emplace_back([&] {
                for (int i = 0; i < 100; ++i)
                    accepted += c.send(cmd("INCR", "counter")) ? 0 : 1;
            });
        for (auto& s : senders)
            s.join();
        BOOST_TEST(accepted.load() == 400);
    }
    auto r = io.run(c, cmd("GET", "counter"));
    BOOST_TEST(r.second.str == "400");
}

BOOST_AUTO_TEST_CASE(auth_and_select) {
    redis_server redis(cmd("--requirepass", "s3cret"));
    BOOST_REQUIRE(redis.start());
    io_threads io;

    auto ep = local(redis.port());
    {
        command_connection none(io.ex(), ep);
        auto r = io.run(none, cmd("PING"));
        BOOST_TEST(!r.first);
        BOOST_TEST((r.second.type == kind::error)); // NOAUTH
        BOOST_TEST(r.second.str.starts_with("NOAUTH"));
    }
    {
        ep.password = "wrong";
        command_connection wrong(io.ex(), ep);
        BOOST_TEST((io.run(wrong, cmd("PING")).first == errc::auth_failed));
        BOOST_TEST(!wrong.connected());
    }
    ep.password = "s3cret";
    ep.db = 3;
    command_connection db3(io.ex(), ep);
    BOOST_TEST(io.run(db3, cmd("SET", "where", "three")).second.str == "OK");
    ep.db = 0;
    ep.username = "default"; // AUTH username password
    command_connection db0(io.ex(), ep);
    auto r = io.run(db0, cmd("GET", "where"));
    BOOST_TEST(!r.first);
    BOOST_TEST((r.second.type == kind::nil));
    BOOST_TEST(io.run(db0, cmd("SELECT", "3")).second.str == "OK"); // (for the test only)
    BOOST_TEST(io.run(db0, cmd("GET", "where")).second.str == "three");

    ep.db = 999; // beyond `databases`
    command_connection bad(io.ex(), ep);
    BOOST_TEST((io.run(bad, cmd("PING")).first == errc::select_failed));
}

BOOST_AUTO_TEST_CASE(redis_down_at_start) {
    io_threads io;
    const auto port = redis_server::free_port();
    BOOST_REQUIRE(port != 0);
    const auto ep = slow_retry(port);
    command_connection c(io.ex(), ep);
    auto r = io.run(c, cmd("PING"));
    BOOST_TEST(static_cast<bool>(r.first));
    BOOST_TEST((r.first == std::errc::connection_refused));
    BOOST_TEST(!c.connected());
    BOOST_TEST((io.run(c, cmd("PING")).first == errc::not_connected));
    BOOST_TEST((c.send(cmd("PING")) == errc::not_connected));

    inbox box;
    subscriber_connection s(io.ex(), ep, box.on_message(), box.on_state());
    s.subscribe(cmd("ch"));
    const auto ec = io.wait(s.synced());
    BOOST_TEST(static_cast<bool>(ec)); // refused, or down
    BOOST_TEST(!s.connected());
    s.close();
    BOOST_TEST((io.wait(s.synced()) == errc::closed));
    BOOST_TEST(box.state_log().empty());
}

BOOST_FIXTURE_TEST_CASE(close_fails_pending_commands, redis_and_command) {
    BOOST_TEST(io.run(c, cmd("PING")).second.str == "PONG");
    // BLPOP on an empty list never answers: these stay pending until close() (whichever Redis gets first
    // blocks the connection, so both are pending).
    auto blocked = net::co_spawn(io.ioc, c.command(cmd("BLPOP", "nothing", "0")), net::use_future);
    auto behind = net::co_spawn(io.ioc, c.command(cmd("BLPOP", "nothing2", "0")), net::use_future);
    BOOST_TEST((blocked.wait_for(100ms) == std::future_status::timeout));
    std::thread([&] { c.close(); }).join();
    BOOST_REQUIRE(blocked.wait_for(limit) == std::future_status::ready);
    BOOST_REQUIRE(behind.wait_for(limit) == std::future_status::ready);
    BOOST_TEST((blocked.get().first == errc::closed));
    BOOST_TEST((behind.get().first == errc::closed));
    BOOST_TEST((io.run(c, cmd("PING")).first == errc::closed));
    BOOST_TEST((c.send(cmd("PING")) == errc::closed));
    BOOST_TEST(!c.connected());

    // The destructor closes too.
    std::future<result> pending;
    {
        command_connection d(io.ex(), local(redis.port()));
        BOOST_TEST(io.run(d, cmd("PING")).second.str == "PONG");
        pending = net::co_spawn(io.ioc, d.command(cmd("BLPOP", "nothing", "0")), net::use_future);
        BOOST_TEST((pending.wait_for(50ms) == std::future_status::timeout));
    }
    BOOST_REQUIRE(pending.wait_for(limit) == std::future_status::ready);
    BOOST_TEST((pending.get().first == errc::closed));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pubsub)

BOOST_FIXTURE_TEST_CASE(subscribe_and_psubscribe, redis_and_both) {
    s.subscribe(cmd("room:a", "room:b"));
    s.psubscribe(cmd("news.*"));
    BOOST_REQUIRE(!io.wait(s.synced()));
    BOOST_TEST(s.connected());
    BOOST_TEST(box.wait_state(true));

    auto r = io.run(c, cmd("PUBLISH", "room:a", "hello"));
    BOOST_TEST(r.second.integer == 1);
    BOOST_TEST(box.wait_message("room:a", "hello"));
    std::string binary("\0\r\n\xff", 4);
    io.run(c, cmd("PUBLISH", "room:b", binary));
    BOOST_TEST(box.wait_message("room:b", binary));
    r = io.run(c, cmd("PUBLISH", "news.today", "x"));
    BOOST_TEST(r.second.integer == 1);
    BOOST_TEST(box.wait_message("news.today", "x")); // a pmessage is delivered by channel

    // Subscribing twice is harmless; unsubscribing takes effect once synced.
    s.subscribe(cmd("room:a"));
    s.unsubscribe(cmd("room:b"));
    s.punsubscribe(cmd("news.*"));
    BOOST_REQUIRE(!io.wait(s.synced()));
    BOOST_TEST(io.run(c, cmd("PUBLISH", "room:b", "gone")).second.integer == 0);
    BOOST_TEST(io.run(c, cmd("PUBLISH", "news.today", "gone")).second.integer == 0);
    BOOST_TEST(io.run(c, cmd("PUBLISH", "room:a", "still")).second.integer == 1);
    BOOST_TEST(box.wait_message("room:a", "still"));

    // After close(), nothing more arrives, and synced() says closed.
    s.close();
    BOOST_TEST((io.wait(s.synced()) == errc::closed));
    BOOST_TEST(!s.connected());
    const auto seen = box.message_count();
    // Once Redis dropped the subscriber, publishing reaches nobody; what was published before that
    // and arrived after close() was not handed over.
    BOOST_TEST(reached_nobody(io.wait(until(c, cmd("PUBLISH", "room:a", "late"), reached_nobody))));
    BOOST_TEST(box.message_count() == seen);
    const auto states = box.state_log();
    BOOST_TEST(states.size() == 1u); // no on_state(false) after close()
}

BOOST_AUTO_TEST_CASE(subscriber_with_password) {
    redis_server redis(cmd("--requirepass", "pw"));
    BOOST_REQUIRE(redis.start());
    io_threads io;
    auto ep = local(redis.port());
    ep.password = "pw";
    command_connection c(io.ex(), ep);
    inbox box;
    subscriber_connection s(io.ex(), ep, box.on_message(), box.on_state());
    s.subscribe(cmd("secure"));
    BOOST_REQUIRE(!io.wait(s.synced()));
    BOOST_TEST(io.run(c, cmd("PUBLISH", "secure", "p")).second.integer == 1);
    BOOST_TEST(box.wait_message("secure", "p"));
}

BOOST_FIXTURE_TEST_CASE(refused_subscription, redis_and_command) {
    // A user that may use the channel "allowed" only.
    BOOST_REQUIRE(
        io.run(c, cmd("ACL", "SETUSER", "limited", "on", ">pw", "resetchannels", "&allowed", "+@all"))
            .second.str == "OK");
    auto ep = local(redis.port());
    ep.username = "limited";
    ep.password = "pw";
    inbox box;
    subscriber_connection s(io.ex(), ep, box.on_message(), box.on_state());
    s.subscribe(cmd("allowed"));
    BOOST_REQUIRE(!io.wait(s.synced()));
    s.subscribe(cmd("forbidden"));
    BOOST_TEST((io.wait(s.synced()) == errc::subscribe_failed));
    BOOST_TEST(!io.wait(s.synced())); // nothing pending any more
    BOOST_TEST(s.connected());
    BOOST_TEST(io.run(c, cmd("PUBLISH", "allowed", "yes")).second.integer == 1);
    BOOST_TEST(box.wait_message("allowed", "yes"));

    // After a reconnection, the refused channel is not asked for again: the rest is re-subscribed.
    BOOST_REQUIRE(io.run(c, cmd("CLIENT", "KILL", "USER", "limited")).second.integer == 1);
    BOOST_REQUIRE(box.wait_state(true, 2));
    BOOST_TEST(io.run(c, cmd("PUBLISH", "allowed", "again")).second.integer == 1);
    BOOST_TEST(box.wait_message("allowed", "again"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(recovery)

BOOST_FIXTURE_TEST_CASE(redis_restarted_on_the_same_port, redis_and_both) {
    s.subscribe(cmd("events"));
    s.psubscribe(cmd("p.*"));
    BOOST_REQUIRE(!io.wait(s.synced()));
    BOOST_REQUIRE(box.wait_state(true, 1));
    BOOST_TEST(io.run(c, cmd("PUBLISH", "events", "one")).second.integer == 1);
    BOOST_TEST(box.wait_message("events", "one"));

    // A command pending when the server goes away fails with the I/O error.
    auto blocked = net::co_spawn(io.ioc, c.command(cmd("BLPOP", "nothing", "0")), net::use_future);
    BOOST_TEST((blocked.wait_for(50ms) == std::future_status::timeout));

    redis.stop();
    BOOST_REQUIRE(blocked.wait_for(limit) == std::future_status::ready);
    const auto io_error = blocked.get().first;
    BOOST_TEST(static_cast<bool>(io_error));
    BOOST_TEST((io_error != errc::closed));
    BOOST_TEST(box.wait_state(false, 1));
    // The server is gone: the next command fails (the connection saw EOF, or sees it now).
    auto r = io.run(c, cmd("PING"));
    BOOST_TEST(static_cast<bool>(r.first));
    BOOST_TEST(!c.connected());

    BOOST_REQUIRE(redis.restart());
    r = io.wait(until(c, cmd("PING"), succeeded));
    BOOST_TEST(!r.first);
    BOOST_TEST(r.second.str == "PONG");
    BOOST_TEST(c.connected());

    // The subscriber reconnected and subscribed again by itself.
    BOOST_REQUIRE(box.wait_state(true, 2));
    BOOST_TEST(s.connected());
    BOOST_TEST(io.run(c, cmd("PUBLISH", "events", "two")).second.integer == 1);
    BOOST_TEST(box.wait_message("events", "two"));
    BOOST_TEST(io.run(c, cmd("PUBLISH", "p.x", "three")).second.integer == 1);
    BOOST_TEST(box.wait_message("p.x", "three"));
    const std::vector<bool> expected{true, false, true};
    BOOST_TEST(box.state_log() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(subscriber_started_before_redis) {
    const auto port = redis_server::free_port();
    BOOST_REQUIRE(port != 0);
    io_threads io;
    inbox box;
    subscriber_connection s(io.ex(), local(port), box.on_message(), box.on_state());
    s.subscribe(cmd("late"));
    BOOST_TEST(!s.connected());
    // It keeps trying (with back-off) until a server appears on its port.
    redis_server redis({}, port);
    BOOST_REQUIRE(redis.start());
    BOOST_REQUIRE(box.wait_state(true, 1));
    BOOST_TEST(s.connected());
    command_connection c(io.ex(), local(port));
    BOOST_TEST(io.run(c, cmd("PUBLISH", "late", "hi")).second.integer == 1);
    BOOST_TEST(box.wait_message("late", "hi"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hostile)

namespace {
/// The error a command gets from a server answering `response`.
std::error_code answer_with(std::string response, std::size_t max_reply = 64 * 1024 * 1024) {
    hostile_server server(std::move(response));
    io_threads io;
    auto ep = slow_retry(server.port());
    ep.max_reply_bytes = max_reply;
    command_connection c(io.ex(), ep);
    auto r = io.run(c, cmd("GET", "x"));
    BOOST_TEST(!c.connected());
    // Down, within its back-off delay: fails at once.
    BOOST_TEST((io.run(c, cmd("GET", "x")).first == errc::not_connected));
    return r.first;
}
} // namespace

BOOST_AUTO_TEST_CASE(garbage) {
    BOOST_TEST((answer_with("?what is this\r\n") == errc::protocol_error));
    BOOST_TEST((answer_with("+OK\n") == errc::protocol_error)); // LF without CR
    BOOST_TEST((answer_with("$abc\r\n") == errc::protocol_error));
    BOOST_TEST((answer_with("*-5\r\n") == errc::protocol_error));
    BOOST_TEST((answer_with(":12x\r\n") == errc::protocol_error)); // hiredis's own checks
}

BOOST_AUTO_TEST_CASE(huge_lengths) {
    BOOST_TEST((answer_with("$999999999999\r\n") == errc::reply_too_large));
    BOOST_TEST((answer_with("$99999999999999999999999\r\n") == errc::protocol_error)); // overflows int64
    BOOST_TEST((answer_with("*2000000000\r\n") == errc::reply_too_large));
    BOOST_TEST((answer_with("$2000\r\n", 1024) == errc::reply_too_large));
    BOOST_TEST((answer_with("*1000\r\n", 1024) == errc::reply_too_large));
    BOOST_TEST((answer_with("+" + std::string(2000, 'a'), 1024) == errc::reply_too_large)); // endless line
    BOOST_TEST((answer_with("*3\r\n$600\r\n" + std::string(600, 'a') + "\r\n$600\r\n" + std::string(600, 'b'),
                            1024) == errc::reply_too_large)); // the sum of the elements
}

BOOST_AUTO_TEST_CASE(deep_nesting) {
    std::string deep;
    for (int i = 0; i < 10; ++i)
        deep += "*1\r\n";
    deep += ":1\r\n";
    BOOST_TEST((answer_with(deep) == errc::protocol_error));
}

BOOST_AUTO_TEST_CASE(reply_nobody_asked_for) {
    hostile_server server("+OK\r\n+EXTRA\r\n");
    io_threads io;
    command_connection c(io.ex(), slow_retry(server.port()));
    auto r = io.run(c, cmd("PING"));
    BOOST_TEST(!r.first);
    BOOST_TEST(r.second.str == "OK");
    // The extra reply ended the connection in the same strand turn: the next command is refused.
    BOOST_TEST((io.run(c, cmd("PING")).first == errc::not_connected));
}

BOOST_AUTO_TEST_CASE(silent_server_times_out) {
    hostile_server server(""); // accepts, never answers
    io_threads io;
    auto ep = local(server.port());
    ep.password = "pw"; // so that connecting waits for an AUTH reply
    ep.connect_timeout = 200ms;
    command_connection c(io.ex(), ep);
    const auto start = std::chrono::steady_clock::now();
    auto r = io.run(c, cmd("PING"));
    BOOST_TEST((r.first == std::errc::timed_out));
    BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));

    inbox box;
    subscriber_connection s(io.ex(), ep, box.on_message(), box.on_state());
    BOOST_TEST((io.wait(s.synced()) == std::errc::timed_out)); // the first attempt times out
    s.close();
    BOOST_TEST(box.state_log().empty());
}

BOOST_AUTO_TEST_CASE(subscriber_against_garbage) {
    hostile_server server("!!!\r\n");
    io_threads io;
    inbox box;
    subscriber_connection s(io.ex(), local(server.port()), box.on_message(), box.on_state());
    s.subscribe(cmd("x"));
    // It connects, sends SUBSCRIBE, gets garbage, reconnects with back-off: again and again, quietly.
    BOOST_TEST(server.wait_accepted(3));
    s.close();
    // (It may report up when it connects before subscribe() reached its strand: nothing to re-subscribe
    // yet. Then the garbage takes it down again: up and down alternate.)
    const auto states = box.state_log();
    for (std::size_t k = 0; k < states.size(); ++k)
        BOOST_TEST(states[k] == (k % 2 == 0));
    BOOST_TEST(box.message_count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(replies_of_many_tiny_elements) {
    io_threads io;
    // 2 million integers: 8 MB on the wire, well under the byte cap, but 2 million reply objects.
    const std::string huge = fake_redis::integer_array(2'000'000);
    const std::string at_budget = fake_redis::integer_array(1000);
    const std::string over_budget = fake_redis::integer_array(1001);
    const std::string nested = "*2\r\n" + fake_redis::integer_array(500) + fake_redis::integer_array(501);
    fake_redis server([&](const fake_redis::command& c) {
        if (c.size() < 2)
            return fake_redis::answer("-ERR\r\n");
        if (c[1] == "huge")
            return fake_redis::answer(huge);
        if (c[1] == "at")
            return fake_redis::answer(at_budget);
        if (c[1] == "over")
            return fake_redis::answer(over_budget);
        if (c[1] == "twenty-thousand")
            return fake_redis::answer(fake_redis::integer_array(20'000));
        if (c[1] == "ten-thousand")
            return fake_redis::answer(fake_redis::integer_array(10'000));
        return fake_redis::answer(nested);
    });
    {
        auto ep = slow_retry(server.port());
        command_connection c(io.ex(), ep);
        BOOST_TEST((io.run(c, cmd("GET", "huge")).first == errc::reply_too_large));
        BOOST_TEST(!c.connected()); // closed
    }
    {
        // With the default element cap, the memory the elements take is bounded by the bytes sent: an array
        // of 20 000 integers (about 100 KB on the wire, 1.6 MB of elements) is refused when declared, one
        // of 10 000 passes.
        auto ep = slow_retry(server.port());
        command_connection c(io.ex(), ep);
        BOOST_TEST((io.run(c, cmd("GET", "twenty-thousand")).first == errc::reply_too_large));
        command_connection d(io.ex(), local(server.port()));
        const auto ok = io.run(d, cmd("GET", "ten-thousand"));
        BOOST_REQUIRE(!ok.first);
        BOOST_TEST(ok.second.elements.size() == 10'000u);
    }
    auto ep = local(server.port());
    ep.max_reply_elements = 1000;
    command_connection c(io.ex(), ep);
    auto r = io.run(c, cmd("GET", "at"));
    BOOST_REQUIRE(!r.first);
    BOOST_REQUIRE((r.second.type == kind::array));
    BOOST_TEST(r.second.elements.size() == 1000u);
    BOOST_TEST(r.second.elements.back().integer == 1);
    BOOST_TEST((io.run(c, cmd("GET", "over")).first == errc::reply_too_large));
    // Nested arrays count together: 2 + 500 + 501 elements.
    r = io.wait(
        until(c, cmd("GET", "nested"), [](const result& x) { return x.first != errc::not_connected; }));
    BOOST_TEST((r.first == errc::reply_too_large));
}

BOOST_AUTO_TEST_CASE(backoff_grows_against_a_server_that_hangs_up) {
    // A server that accepts and closes at once: connecting "works", nothing else does. Each failed
    // attempt must double the delay (10, 20, 40, 80, 160 ms...), not start again from 10 ms.
    fake_redis server(fake_redis::mode::close_at_once);
    io_threads io;
    auto ep = local(server.port());
    ep.reconnect_min = 10ms;
    ep.reconnect_max = 10s;
    inbox box;
    subscriber_connection s(io.ex(), ep, box.on_message(), box.on_state());
    s.subscribe(cmd("x"));
    BOOST_REQUIRE(server.wait_accepted(6, 20s));
    s.close();
    const auto times = server.accept_times();
    // Dials 1 to 6 are 10 + 20 + 40 + 80 + 160 = 310 ms apart at least (the timers never fire early);
    // at a fixed 10 ms they would be about 50 ms apart.
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(times[5] - times[0]).count() >= 280);
}

BOOST_AUTO_TEST_CASE(command_backoff_grows_against_a_server_that_hangs_up) {
    fake_redis server(fake_redis::mode::close_at_once);
    io_threads io;
    auto ep = local(server.port());
    ep.reconnect_min = 10ms;
    ep.reconnect_max = 10s;
    command_connection c(io.ex(), ep);
    // Each command dials when the back-off delay is over (and fails); retried every 2 ms.
    auto dial_six_times = [&]() -> net::awaitable<void> {
        net::steady_timer timer(co_await net::this_coro::executor);
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (server.accepted() < 6 && std::chrono::steady_clock::now() < deadline) {
            (void)co_await c.command(cmd("PING"));
            timer.expires_after(2ms);
            co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        }
    };
    io.wait(dial_six_times(), 30s);
    BOOST_REQUIRE(server.accepted() >= 6);
    const auto times = server.accept_times();
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(times[5] - times[0]).count() >= 280);
}

BOOST_AUTO_TEST_CASE(backoff_resets_once_redis_answered) {
    // A server that answers: after a lost connection the next attempt comes after reconnect_min again.
    std::atomic<int> hang_ups{0};
    fake_redis server([&](const fake_redis::command& c) {
        if (!c.empty() && c[0] == "QUIT") {
            ++hang_ups;
            return fake_redis::hang_up();
        }
        return fake_redis::answer("+PONG\r\n");
    });
    io_threads io;
    auto ep = local(server.port());
    ep.reconnect_min = 10ms;
    ep.reconnect_max = 10s;
    command_connection c(io.ex(), ep);
    const auto start = std::chrono::steady_clock::now();
    for (int round = 0; round < 8; ++round) {
        BOOST_TEST((io.wait(until(c, cmd("PING"), succeeded)).second.str == "PONG"));
        (void)io.run(c, cmd("QUIT")); // the server hangs up: the connection is lost
    }
    BOOST_TEST(server.accepted() == 8);
    BOOST_TEST(hang_ups.load() == 8);
    // Each loss came after an answer, so each retry waited 10 ms (plus the 20 ms polling of `until`);
    // a delay doubling from 10 ms would have made it 10 + 20 + ... + 1280 = 2550 ms at least.
    BOOST_TEST((std::chrono::steady_clock::now() - start < 1500ms));
}

BOOST_AUTO_TEST_CASE(silent_server_commands_time_out) {
    fake_redis server; // accepts, reads, never answers
    io_threads io;
    auto ep = local(server.port());
    ep.command_timeout = 100ms;
    ep.reconnect_min = 20ms;
    command_connection c(io.ex(), ep);
    const auto start = std::chrono::steady_clock::now();
    // Every command pending on the connection fails (none stays pending for ever).
    std::vector<std::future<result>> pending;
    for (int i = 0; i < 20; ++i)
        pending.push_back(net::co_spawn(io.ioc, c.command(cmd("PUBSUB", "NUMSUB", "x")), net::use_future));
    for (auto& f : pending) {
        BOOST_REQUIRE(f.wait_for(limit) == std::future_status::ready);
        BOOST_TEST((f.get().first == errc::command_timeout));
    }
    BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
    BOOST_TEST(!c.connected());
    // The connection was closed...
    BOOST_TEST(server.wait_closed_by_peer(1));
    // ...and is dialled again after its back-off delay.
    auto r = io.wait(until(c, cmd("PING"), [](const result& x) { return x.first != errc::not_connected; }));
    BOOST_TEST((r.first == errc::command_timeout));
    BOOST_TEST(server.accepted() == 2);
}

BOOST_AUTO_TEST_CASE(outgoing_queue_is_bounded) {
    // A server that leaves the first AUTH unanswered: the first connection stays in its handshake and
    // every command issued meanwhile waits in the outgoing queue. The second AUTH is accepted.
    std::atomic<int> auths{0};
    fake_redis server([&](const fake_redis::command& c) {
        if (c.empty() || c[0] == "PUBLISH")
            return fake_redis::silence();
        if (c[0] == "AUTH")
            return ++auths >= 2 ? fake_redis::answer("+OK\r\n") : fake_redis::silence();
        return fake_redis::answer("+PONG\r\n");
    });
    io_threads io;
    auto ep = local(server.port());
    ep.password = "pw";
    ep.connect_timeout = 300ms;
    ep.command_timeout = 0ms;
    ep.reconnect_min = 1ms;
    ep.max_queued_bytes = 1024 * 1024;
    command_connection c(io.ex(), ep);
    const std::string payload(100 * 1024, 'x');
    auto fill = [&] {
        int handed = 0, refused = 0;
        for (int i = 0; i < 30; ++i) {
            const auto ec = c.send(cmd("PUBLISH", "chat", payload));
            if (!ec)
                ++handed;
            else if (ec == errc::queue_full)
                ++refused;
        }
        return std::make_pair(handed, refused);
    };
    const auto [handed, refused] = fill();
    // A publication takes 102437 bytes: 10 fit in 1 MiB.
    BOOST_TEST(handed == 10);
    BOOST_TEST(refused == 20);
    BOOST_TEST((io.run(c, cmd("PUBLISH", "chat", payload)).first == errc::queue_full));
    // The first attempt times out; the second one gets through.
    BOOST_TEST((io.wait(until(c, cmd("PING"), succeeded)).second.str == "PONG"));
    BOOST_TEST(server.accepted() == 2);
    // What the first attempt had queued was dropped and its bytes given back; the second connection
    // writes what it is given (the server reads it), so the queue drains.
    const auto [again, refused_again] = fill();
    BOOST_TEST(again >= 10);
    BOOST_TEST(server.wait_commands("PUBLISH", static_cast<std::size_t>(again)));
}

BOOST_AUTO_TEST_SUITE_END()
