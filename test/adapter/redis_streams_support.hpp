// The Redis streams adapter's tests on a real redis-server: a raw connection to it, the adapter's warnings
// as a log sink sees them, and clusters of three sio servers with a client each (test/adapter/
// redis_streams_test.cpp, redis_streams_bounds_test.cpp).
#pragma once

#include <sio/adapter/redis_streams.hpp>
#include <sio/sio.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>

#include "adapter/redis/connection.hpp"
#include "adapter/redis/streams_codec.hpp"
#include "support/health_check.hpp"
#include "support/redis_server.hpp"
#include "support/sio_loopback.hpp"

namespace streams_test {

using namespace sio_test;
namespace sd = sio::streams_detail;
using kind = sio::cluster_message::kind;
using fields_t = std::vector<std::pair<std::string_view, std::string_view>>;

/// The options of a test server on the Redis at `port` (short timeouts), changed by `tweak`.
inline sio::server_options
streams_server_options(std::uint16_t port, bool recovery,
                       const std::function<void(sio::redis_streams_options&)>& tweak = {}) {
    sio::server_options o;
    sio::redis_streams_options r;
    r.port = port;
    r.requests_timeout = 1s;
    r.reconnect_min = 20ms;
    r.reconnect_max = 200ms;
    r.command_timeout = 1s;
    r.block_time = 500ms;
    if (tweak)
        tweak(r);
    o.adapter = sio::redis_streams_adapter(std::move(r));
    if (recovery)
        o.connection_state_recovery = sio::connection_state_recovery_options{};
    return with_health_check(o);
}

/// A raw command connection to the test's Redis, driven from the test thread.
struct raw_redis {
    explicit raw_redis(std::uint16_t port) {
        sio::redis_detail::endpoint ep;
        ep.port = port;
        ep.reconnect_min = 10ms;
        conn.emplace(ioc.get_executor(), ep);
    }
    ~raw_redis() { conn->close(); }
    /// Runs a command; a connection that Redis's restart broke is dialled again (the command failed
    /// unexecuted: it was not written, or Redis was gone).
    sio::redis_detail::reply run(std::vector<std::string> args) {
        const auto deadline = clock_type::now() + 5s;
        std::error_code ec;
        while (clock_type::now() < deadline) {
            auto f = boost::asio::co_spawn(ioc, conn->command(args), boost::asio::use_future);
            while (f.wait_for(0s) != std::future_status::ready && clock_type::now() < deadline)
                ioc.run_one_for(100ms);
            BOOST_REQUIRE(f.wait_for(0s) == std::future_status::ready);
            auto [e, r] = f.get();
            if (!e)
                return r;
            ec = e;
            ioc.restart();
            boost::asio::steady_timer t(ioc, 10ms); // the connection's back-off
            t.wait();
        }
        BOOST_FAIL("redis command failed: " << ec.message());
        return {};
    }
    /// The event names of the type-3 entries of `stream`, in order.
    std::vector<std::string> broadcast_events(const std::string& stream) {
        std::vector<std::string> out;
        const auto r = run({"XRANGE", stream, "-", "+"});
        for (const auto& e : r.elements) {
            fields_t fields;
            for (std::size_t i = 0; i + 1 < e.elements[1].elements.size(); i += 2)
                fields.emplace_back(e.elements[1].elements[i].str, e.elements[1].elements[i + 1].str);
            auto d = sd::decode_entry(fields);
            if (d.result == sd::decoded_message::outcome::message && d.message.type == kind::broadcast)
                out.push_back(d.message.event);
        }
        return out;
    }
    boost::asio::io_context ioc;
    std::optional<sio::redis_detail::command_connection> conn;
};

/// The adapter's warnings (or records of another level), as an application's log sink receives them
/// (restored at the end).
class adapter_warnings {
public:
    explicit adapter_warnings(sio::log_level level = sio::log_level::warning) {
        sio::set_log_sink([this, level](const sio::log_record& r) {
            if (r.scope != sio::log_scope::adapter || r.level != level)
                return;
            std::lock_guard lock(mutex_);
            lines_.emplace_back(r.message);
        });
    }
    ~adapter_warnings() { sio::set_log_sink({}); }
    std::size_t count(std::string_view text) const {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(lines_.begin(), lines_.end(),
                          [&](const std::string& l) { return l.find(text) != std::string::npos; }));
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

/// The event names a client receives up to the event "marker".
inline std::vector<std::string> events_until_marker(sio_client& client) {
    std::vector<std::string> got;
    for (;;) {
        const auto text = client.read(10s);
        BOOST_REQUIRE(text.starts_with("42["));
        got.push_back(std::string(boost::json::parse(text.substr(2)).as_array().front().as_string()));
        if (got.back() == "marker")
            return got;
    }
}

/// A name of its own for each Redis's append-only files (under /tmp).
inline std::string aof_dir() {
    static std::atomic<int> n{0};
    return "sio-streams-aof-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

/// Three servers on one Redis, a client on each.
struct streams_cluster {
    const std::string aof = aof_dir();
    redis_server redis{{"--appendonly", "yes", "--appendfsync", "always", "--appenddirname", aof}};
    std::optional<sio_server> one, two, three;
    std::optional<sio_client> a, b, c;
    std::string ida, idb, idc;

    explicit streams_cluster(bool recovery = false) {
        BOOST_REQUIRE(redis.start());
        for (auto* s : {&one, &two, &three}) {
            s->emplace(options(recovery));
            install((*s)->io().of("/"), (*s)->log());
            (*s)->start();
        }
        for (auto* s : {&*one, &*two, &*three})
            BOOST_REQUIRE(!on(*s, s->io().adapter_ready()));
        a.emplace(one->client());
        b.emplace(two->client());
        c.emplace(three->client());
        ida = a->connect();
        idb = b->connect();
        idc = c->connect();
        for (auto* s : {&*one, &*two, &*three})
            BOOST_REQUIRE(s->log().wait("connect /"));
    }
    ~streams_cluster() {
        redis.stop();
        std::filesystem::remove_all("/tmp/" + aof);
    }

    sio::server_options options(bool recovery) { return streams_server_options(redis.port(), recovery); }
    template <class T>
    static T on(sio_server& s, boost::asio::awaitable<T> op) {
        auto f = s.spawn(std::move(op));
        return get(f, 10s);
    }
    template <class T>
    T on_one(boost::asio::awaitable<T> op) {
        return on(*one, std::move(op));
    }
};

struct recovering_cluster : streams_cluster {
    recovering_cluster() : streams_cluster(true) {}
};

struct answer {
    std::string sid;
    std::string pid;
};

inline answer connect_answer(const std::string& text) {
    BOOST_REQUIRE_MESSAGE(text.starts_with("40{"), "expected a CONNECT answer, got " << text);
    const auto o = boost::json::parse(text.substr(2)).as_object();
    return {std::string(o.at("sid").as_string()), std::string(o.at("pid").as_string())};
}

inline std::string last_argument(const std::string& text) {
    BOOST_REQUIRE_MESSAGE(text.starts_with("42["), "expected an EVENT, got " << text);
    const auto a = boost::json::parse(text.substr(2)).as_array();
    return a.back().is_string() ? std::string(a.back().as_string()) : std::string("(not a string)");
}

// --- retention: trimming by length (MAXLEN) or by age (MINID) ------------------------------------------

/// Redis's own trimming is per node of the stream (`~`); nodes of 10 entries let a few dozen entries show
/// what was trimmed.
inline void small_stream_nodes(raw_redis& raw) {
    BOOST_REQUIRE(raw.run({"CONFIG", "SET", "stream-node-max-entries", "10"}).str == "OK");
}

/// Polls until the newest broadcast of `stream` is `event`.
inline void wait_newest(raw_redis& raw, const std::string& stream, const std::string& event) {
    for (const auto deadline = clock_type::now() + 10s; clock_type::now() < deadline;) {
        const auto events = raw.broadcast_events(stream);
        if (!events.empty() && events.back() == event)
            return;
    }
    BOOST_FAIL("\"" << event << "\" never reached " << stream);
}

/// Broadcasts 50 events and "last" from `server` (51 entries of `stream`); their length once "last" is in.
inline std::int64_t broadcast_51(raw_redis& raw, sio_server& server, const std::string& stream) {
    for (int i = 0; i < 50; ++i)
        server.io().emit("e", i);
    server.io().emit("last");
    wait_newest(raw, stream, "last"); // one connection: the others are in before it
    return raw.run({"XLEN", stream}).integer;
}

/// Waits until the newest entry of `stream` is older than `retention` (by its id, the clock Redis and the
/// adapter share: that age is what is tested), then broadcasts one more event from `server`: the stream's
/// length once it is in.
inline std::int64_t length_once_aged(raw_redis& raw, sio_server& server, const std::string& stream,
                                     std::chrono::milliseconds retention) {
    const auto newest = raw.run({"XREVRANGE", stream, "+", "-", "COUNT", "1"});
    BOOST_REQUIRE(newest.elements.size() == 1u);
    const auto& id = newest.elements[0].elements[0].str;
    const std::chrono::system_clock::time_point added{std::chrono::milliseconds(std::stoll(id))};
    std::this_thread::sleep_until(added + retention + 20ms);
    server.io().emit("aged");
    wait_newest(raw, stream, "aged");
    return raw.run({"XLEN", stream}).integer;
}

} // namespace streams_test
