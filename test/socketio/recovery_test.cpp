// Connection state recovery over loopback with raw WebSocket clients: the pid in CONNECT, the offset
// appended to kept packets, recovery of id, rooms, data and missed packets in order, the middlewares,
// expiry, the bounds, hostile pid/offset values, broadcasts racing a recovery or each other, and the admin
// namespace (the replay buffer alone: test/adapter/recovery_store_test.cpp). No sleep is used as
// synchronisation: a disconnection is awaited through the server's disconnect handler, an expiry through the
// hook.
#include <sio/admin.hpp>
#include <sio/sio.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapter/recovery_store.hpp"
#include "support/bus_adapter.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;
namespace json = boost::json;
using sio::detail::recovery_store;
using namespace std::chrono_literals;

// --- over loopback ------------------------------------------------------------------------------------

namespace {

struct answer {
    std::string sid;
    std::string pid;
};

/// Parses a CONNECT answer of namespace "/" (`40{...}`).
answer connect_answer(const std::string& text) {
    BOOST_REQUIRE_MESSAGE(text.starts_with("40{"), "expected a CONNECT answer, got " << text);
    const auto o = json::parse(text.substr(2)).as_object();
    answer a;
    a.sid = json::value_to<std::string>(o.at("sid"));
    if (const auto* pid = o.if_contains("pid"))
        a.pid = json::value_to<std::string>(*pid);
    return a;
}

/// The last argument of an EVENT (`42[...]`): the offset, when kept.
std::string last_argument(const std::string& text) {
    BOOST_REQUIRE_MESSAGE(text.starts_with("42["), "expected an EVENT, got " << text);
    const auto a = json::parse(text.substr(2)).as_array();
    return a.back().is_string() ? std::string(a.back().as_string()) : std::string("(not a string)");
}

sio::server_options with_recovery(sio::connection_state_recovery_options o = {}) {
    sio::server_options opts;
    opts.connection_state_recovery = std::move(o);
    return opts;
}

/// Records connections (with "recovered" or "fresh"), disconnections, and keeps the sockets; a socket
/// joins room "r1" when its auth asks for it (`{"join":"r1"}`) and gets `data` {"n": <connections>}.
void install_recovery(sio::server& io, recorder& log, std::atomic<int>& connections) {
    io.on_connection([&log, &connections](sio::socket s) {
        log.keep(s);
        log.add(std::string("connect ") + (s.recovered() ? "recovered" : "fresh"));
        if (!s.recovered()) {
            s.data() = json::object{{"n", ++connections}};
            if (const auto* room = s.handshake().auth.if_contains("join"))
                s.join(std::string(room->as_string()));
        }
        s.on_disconnect([&log](sio::socket, sio::disconnect_reason r) {
            log.add("disconnect " + std::string(sio::to_string(r)));
        });
    });
}

/// Connects a client to "/" with `auth` and returns the answer (the first packet must be it).
answer join(sio_client& c, std::string_view auth = {}) {
    c.send("40" + std::string(auth));
    return connect_answer(c.read());
}

std::string recovery_auth(const answer& a, const std::string& offset) {
    json::object o{{"pid", a.pid}};
    if (!offset.empty())
        o["offset"] = offset;
    return json::serialize(o);
}

/// Drops the client's TCP connection and waits until the server saw it (`n`-th "transport close").
void drop(sio_server& ts, sio_client& c, std::size_t n) {
    c.close();
    BOOST_REQUIRE(ts.log().wait("disconnect transport close", n));
}

/// Installs the recording handlers, starts the server, has a client join "/" and room "r1", then drops it:
/// its CONNECT answer.
answer start_joined_then_dropped(sio_server& ts, std::atomic<int>& connections) {
    install_recovery(ts.io(), ts.log(), connections);
    ts.start();
    auto c = ts.client();
    const auto a = join(c, R"({"join":"r1"})");
    drop(ts, c, 1);
    return a;
}

} // namespace

BOOST_AUTO_TEST_SUITE(loopback)

BOOST_AUTO_TEST_CASE(pid_is_sent_only_with_recovery_on) {
    {
        sio_server off;
        off.start();
        auto c = off.client();
        const auto a = join(c);
        BOOST_TEST(a.pid.empty());
        off.io().emit("e", 1);
        BOOST_TEST(c.read() == R"(42["e",1])");
    }
    sio_server on(with_recovery());
    std::atomic<int> n{0};
    install_recovery(on.io(), on.log(), n);
    on.start();
    auto c = on.client();
    const auto a = join(c);
    BOOST_TEST(a.pid.size() == 20u);
    BOOST_TEST(a.pid != a.sid);
    auto s = on.log().find_socket(a.sid);
    BOOST_TEST(!s.recovered());
    // Broadcasts and socket.emit carry an offset; volatile emits do not.
    on.io().emit("e", 1);
    const auto o1 = last_argument(c.read());
    s.emit("direct", 2);
    const auto o2 = last_argument(c.read());
    BOOST_TEST(o1 != o2);
    on.io().volatile_().emit("v", 3);
    BOOST_TEST(c.read() == R"(42["v",3])");
    s.volatile_().emit("v", 4);
    BOOST_TEST(c.read() == R"(42["v",4])");
}

BOOST_AUTO_TEST_CASE(a_dropped_client_gets_its_id_rooms_data_and_missed_packets_back) {
    sio_server ts(with_recovery());
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c, R"({"join":"r1"})");
    ts.io().emit("seen", 0);
    const std::string offset = last_argument(c.read());
    drop(ts, c, 1);

    ts.io().emit("all", 1);
    ts.io().to("r1").emit("r1", 2);
    ts.io().to("r2").emit("r2", 3);
    ts.io().except("r1").emit("not-r1", 4);
    ts.io().to(a.sid).emit("direct", 5);
    ts.io().volatile_().emit("volatile", 6);

    auto c2 = ts.client();
    c2.send("40" + recovery_auth(a, offset));
    // The missed packets in order, then the CONNECT answer with the same sid and pid.
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i)
        got.push_back(c2.read());
    BOOST_TEST(got[0].starts_with(R"(42["all",1,)"));
    BOOST_TEST(got[1].starts_with(R"(42["r1",2,)"));
    BOOST_TEST(got[2].starts_with(R"(42["direct",5,)"));
    const auto b = connect_answer(c2.read());
    BOOST_TEST(b.sid == a.sid);
    BOOST_TEST(b.pid == a.pid);
    BOOST_REQUIRE(ts.log().wait("connect recovered"));
    auto s = ts.log().find_socket(a.sid);
    BOOST_TEST(s.recovered());
    BOOST_TEST(sorted(s.rooms()) == sorted({a.sid, "r1"}), boost::test_tools::per_element());
    // Live again: a room broadcast reaches it; the data came back.
    ts.io().to("r1").emit("live", 7);
    BOOST_TEST(c2.read().starts_with(R"(42["live",7,)"));
    auto data = ts.spawn([](sio::socket s) -> net::awaitable<std::string> {
        co_await net::dispatch(s.executor(), net::use_awaitable); // data() belongs to the socket's strand
        co_return json::serialize(s.data());
    }(s));
    BOOST_TEST(get(data) == R"({"n":1})");
    BOOST_TEST(n.load() == 1);
}

BOOST_AUTO_TEST_CASE(a_socket_emit_while_the_client_is_away_is_replayed) {
    sio_server ts(with_recovery());
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c, R"({"join":"r1"})");
    ts.io().emit("seen", 0);
    const std::string offset = last_argument(c.read());
    auto away = ts.log().find_socket(a.sid);
    drop(ts, c, 1);
    BOOST_TEST(away.emit("while-away", 1)); // kept for the replay, as the reference keeps it
    BOOST_TEST(!away.volatile_().emit("volatile", 2));
    auto c2 = ts.client();
    c2.send("40" + recovery_auth(a, offset));
    BOOST_TEST(c2.read().starts_with(R"(42["while-away",1,)"));
    const auto b = connect_answer(c2.read());
    BOOST_TEST(b.sid == a.sid);
}

BOOST_AUTO_TEST_CASE(a_client_that_stopped_answering_pings_recovers) {
    auto options = with_recovery();
    options.engine.ping_interval = 100ms;
    options.engine.ping_timeout = 100ms;
    sio_server ts(std::move(options));
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c, R"({"join":"r1"})");
    ts.io().emit("seen", 0);
    const std::string offset = last_argument(c.read());
    c.answer_pings(false);
    BOOST_TEST(c.closed()); // the server gives up on it: "ping timeout", a recoverable reason
    BOOST_REQUIRE(ts.log().wait("disconnect ping timeout"));
    ts.io().to("r1").emit("missed", 1);
    auto c2 = ts.client();
    c2.send("40" + recovery_auth(a, offset));
    BOOST_TEST(c2.read().starts_with(R"(42["missed",1,)"));
    BOOST_TEST(connect_answer(c2.read()).sid == a.sid);
    BOOST_TEST(ts.log().wait("connect recovered"));
}

BOOST_AUTO_TEST_CASE(a_client_that_received_no_event_still_recovers) {
    sio_server ts(with_recovery());
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c, R"({"join":"r1"})");
    drop(ts, c, 1);
    ts.io().to("r1").emit("away", 1);
    auto c2 = ts.client();
    c2.send("40" + recovery_auth(a, "")); // what the official client sends without an offset: the pid only
    BOOST_TEST(c2.read().starts_with(R"(42["away",1,)"));
    BOOST_TEST(connect_answer(c2.read()).sid == a.sid);
    BOOST_REQUIRE(ts.log().wait("connect recovered"));
    BOOST_TEST(sorted(ts.log().find_socket(a.sid).rooms()) == sorted({a.sid, "r1"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_reference_behaviour_without_an_offset_on_request) {
    sio::connection_state_recovery_options o;
    o.recover_without_offset = false;
    sio_server ts(with_recovery(o));
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c);
    drop(ts, c, 1);
    auto c2 = ts.client();
    const auto b = join(c2, recovery_auth(a, ""));
    BOOST_TEST(b.sid != a.sid);
    BOOST_TEST(b.pid != a.pid);
    BOOST_TEST(ts.log().wait("connect fresh", 2));
}

BOOST_AUTO_TEST_CASE(a_socket_recovers_more_than_once) {
    sio_server ts(with_recovery());
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = std::make_unique<sio_client>(ts.client());
    auto a = join(*c);
    ts.io().emit("x", 0);
    std::string offset = last_argument(c->read());
    for (int round = 1; round <= 3; ++round) {
        drop(ts, *c, static_cast<std::size_t>(round));
        ts.io().emit("away", round);
        c = std::make_unique<sio_client>(ts.client());
        c->send("40" + recovery_auth(a, offset));
        const std::string missed = c->read();
        BOOST_TEST(missed.starts_with(R"(42["away",)" + std::to_string(round) + ","));
        offset = last_argument(missed);
        const auto b = connect_answer(c->read());
        BOOST_TEST(b.sid == a.sid);
        BOOST_TEST(b.pid == a.pid);
        BOOST_REQUIRE(ts.log().wait("connect recovered", static_cast<std::size_t>(round)));
    }
}

BOOST_AUTO_TEST_CASE(a_namespace_disconnect_is_not_recoverable) {
    sio_server ts(with_recovery());
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c);
    c.send("41");
    BOOST_REQUIRE(ts.log().wait("disconnect client namespace disconnect"));
    const auto b = join(c, recovery_auth(a, ""));
    BOOST_TEST(b.sid != a.sid);
}

BOOST_AUTO_TEST_CASE(the_replay_bound_fails_recovery_cleanly) {
    sio::connection_state_recovery_options o;
    o.max_buffered_packets = 3;
    sio_server ts(with_recovery(o));
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c);
    ts.io().emit("x", 0);
    const std::string offset = last_argument(c.read());
    drop(ts, c, 1);
    for (int i = 0; i < 5; ++i)
        ts.io().emit("flood", i);
    auto c2 = ts.client();
    c2.send("40" + recovery_auth(a, offset));
    const auto b = connect_answer(c2.read()); // first: no partial replay
    BOOST_TEST(b.sid != a.sid);
    BOOST_TEST(ts.log().wait("connect fresh", 2));
}

/// Every text packet the server writes until it ends the connection.
std::vector<std::string> read_until_closed(sio_client& c) {
    std::vector<std::string> got;
    while (auto m = c.next())
        got.push_back(m->data);
    return got;
}

/// Waits until the single-threaded server loop ran what was queued before (the handler that closed a
/// connection has returned).
void settle(sio_server& ts) {
    auto done = ts.spawn([]() -> net::awaitable<bool> { co_return true; }());
    BOOST_REQUIRE(get(done));
}

// The replay does not fit the connection's queue: nothing of it is written, the socket is not attached to
// the connection (which closes as an overflow), and the saved session is not consumed (its expiry is
// reported, so no later attempt lost it).
BOOST_AUTO_TEST_CASE(a_replay_larger_than_the_send_queue_gives_a_fresh_socket) {
    recorder hook_log;
    sio::connection_state_recovery_options o;
    o.max_disconnection_duration = 1s;
    o.on_session_expired = [&hook_log](const std::string&, const sio::recovery_session& s) {
        hook_log.add("expired " + s.sid);
    };
    auto opts = with_recovery(o);
    opts.engine.max_queued_packets = 4;
    sio_server ts(std::move(opts));
    std::atomic<int> n{0};
    const auto a = start_joined_then_dropped(ts, n);
    for (int i = 0; i < 10; ++i)
        ts.io().to("r1").emit("away", i); // 10 missed packets + the answer: more than the queue's 4
    auto c2 = ts.client();
    c2.send("40" + recovery_auth(a, ""));
    // Not recovered (nothing of the replay written, no partial replay): a new socket, and the connection
    // stays (a next attempt would be refused the same way: closing would lock the client out).
    const auto fresh = connect_answer(c2.read());
    BOOST_TEST(!fresh.sid.empty());
    BOOST_TEST(fresh.sid != a.sid);
    settle(ts);
    BOOST_TEST(ts.log().count("connect recovered") == 0u);
    BOOST_TEST(ts.log().count("connect fresh") == 2u);
    BOOST_TEST(ts.log().count("disconnect transport close") == 1u); // the dropped socket, nothing more
    BOOST_TEST(hook_log.wait("expired " + a.sid));                  // the unused session expires
}

// The same for a fresh socket: a CONNECT answer the queue refuses leaves no socket behind.
BOOST_AUTO_TEST_CASE(a_connect_answer_the_queue_refuses_attaches_no_socket) {
    for (const auto policy :
         {sio::overflow_policy::disconnect, sio::overflow_policy::fail, sio::overflow_policy::drop}) {
        BOOST_TEST_CONTEXT("policy " << static_cast<int>(policy)) {
            auto opts = with_recovery();
            opts.engine.max_queued_packets = 0; // no message fits; the Engine.IO open and pings still do
            opts.engine.on_overflow = policy;
            sio_server ts(std::move(opts));
            std::atomic<int> n{0};
            install_recovery(ts.io(), ts.log(), n);
            ts.start();
            auto c = ts.client();
            c.send("40");
            const auto got = read_until_closed(c);
            BOOST_TEST(got.empty());
            settle(ts);
            BOOST_TEST(ts.log().events().empty()); // no connection handler, no disconnection
        }
    }
}

BOOST_AUTO_TEST_CASE(an_expired_session_is_reported_and_not_recovered) {
    struct expired_log {
        std::mutex mutex;
        std::vector<sio::recovery_session> sessions;
    };
    auto expired = std::make_shared<expired_log>();
    recorder hook_log;
    sio::connection_state_recovery_options o;
    o.max_disconnection_duration = 300ms;
    o.on_session_expired = [expired, &hook_log](const std::string& nsp, const sio::recovery_session& s) {
        {
            std::lock_guard lock(expired->mutex);
            expired->sessions.push_back(s);
        }
        hook_log.add("expired " + nsp);
    };
    sio_server ts(with_recovery(o));
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c, R"({"join":"r1"})");
    drop(ts, c, 1);
    BOOST_REQUIRE(hook_log.wait("expired /"));
    {
        std::lock_guard lock(expired->mutex);
        BOOST_REQUIRE(expired->sessions.size() == 1u);
        const auto& s = expired->sessions.front();
        BOOST_TEST(s.sid == a.sid);
        BOOST_TEST(s.pid == a.pid);
        BOOST_TEST(sorted(s.rooms) == sorted({a.sid, "r1"}), boost::test_tools::per_element());
        BOOST_TEST(json::serialize(s.data) == R"({"n":1})");
    }
    auto c2 = ts.client();
    const auto b = join(c2, recovery_auth(a, ""));
    BOOST_TEST(b.sid != a.sid);
}

BOOST_AUTO_TEST_CASE(middlewares_are_skipped_or_run_as_configured) {
    for (const bool skip : {true, false}) {
        BOOST_TEST_CONTEXT("skip_middlewares " << skip) {
            sio::connection_state_recovery_options o;
            o.skip_middlewares = skip;
            sio_server ts(with_recovery(o));
            std::atomic<int> n{0};
            std::atomic<int> runs{0};
            std::atomic<bool> refuse{false};
            ts.io().use([&](sio::socket) -> std::optional<sio::middleware_error> {
                ++runs;
                if (refuse.load())
                    return sio::middleware_error{"refused", nullptr};
                return std::nullopt;
            });
            install_recovery(ts.io(), ts.log(), n);
            ts.start();
            auto c = ts.client();
            const auto a = join(c);
            ts.io().emit("x", 0);
            const std::string offset = last_argument(c.read());
            drop(ts, c, 1);
            ts.io().emit("away", 1);
            auto c2 = ts.client();
            c2.send("40" + recovery_auth(a, offset));
            BOOST_TEST(c2.read().starts_with(R"(42["away",1,)"));
            BOOST_TEST(connect_answer(c2.read()).sid == a.sid);
            BOOST_TEST(runs.load() == (skip ? 1 : 2));
            if (skip)
                continue;
            // A middleware that refuses a recovering client: CONNECT_ERROR, and nothing it missed leaks.
            drop(ts, c2, 2);
            ts.io().emit("secret", 2);
            refuse = true;
            auto c3 = ts.client();
            c3.send("40" + recovery_auth(a, ""));
            BOOST_TEST(c3.read() == R"(44{"message":"refused"})");
            // The refused attempt did not consume the session: the next one recovers, with the secret.
            refuse = false;
            auto c4 = ts.client();
            c4.send("40" + recovery_auth(a, ""));
            BOOST_TEST(c4.read().starts_with(R"(42["secret",2,)"));
            BOOST_TEST(connect_answer(c4.read()).sid == a.sid);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_broadcast_while_the_middlewares_run_reaches_the_recovering_client_once) {
    sio::connection_state_recovery_options o;
    o.skip_middlewares = false;
    sio_server ts(with_recovery(o));
    std::atomic<int> n{0};
    // Between the restore and the socket joining its rooms, the application broadcasts to its room.
    ts.io().use([&ts](sio::socket s) -> std::optional<sio::middleware_error> {
        if (s.handshake().auth.contains("pid"))
            ts.io().to("r1").emit("during", 2);
        return std::nullopt;
    });
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c, R"({"join":"r1"})");
    drop(ts, c, 1);
    ts.io().to("r1").emit("away", 1);
    auto c2 = ts.client();
    c2.send("40" + recovery_auth(a, ""));
    const std::string away = c2.read();
    BOOST_TEST(away.starts_with(R"(42["away",1,)"));
    const std::string during = c2.read(); // replayed, not lost
    BOOST_TEST(during.starts_with(R"(42["during",2,)"));
    BOOST_TEST(connect_answer(c2.read()).sid == a.sid);
    BOOST_REQUIRE(ts.log().wait("connect recovered"));
    ts.io().to("r1").emit("live", 3); // and not delivered a second time: the next event is this one
    const std::string live = c2.read();
    BOOST_TEST(live.starts_with(R"(42["live",3,)"));
    BOOST_TEST(std::stoull(last_argument(away)) < std::stoull(last_argument(during)));
    BOOST_TEST(std::stoull(last_argument(during)) < std::stoull(last_argument(live)));
}

BOOST_AUTO_TEST_CASE(a_session_that_cannot_be_recovered_whole_at_admission_gets_a_fresh_socket) {
    sio::connection_state_recovery_options o;
    o.skip_middlewares = false;
    o.max_buffered_packets = 3;
    sio_server ts(with_recovery(o));
    std::atomic<int> n{0};
    std::atomic<int> runs{0};
    // While the recovering client's middleware runs, more broadcasts than the bound: a packet kept for it
    // since the restore is dropped, so its session can no longer be recovered whole.
    ts.io().use([&ts, &runs](sio::socket s) -> std::optional<sio::middleware_error> {
        ++runs;
        if (s.handshake().auth.contains("pid") && !s.handshake().auth.contains("again"))
            for (int i = 0; i < 5; ++i)
                ts.io().emit("flood", i);
        return std::nullopt;
    });
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c);
    drop(ts, c, 1);
    auto c2 = ts.client();
    const auto b = join(c2, recovery_auth(a, "")); // the first packet is a fresh CONNECT: no partial replay
    BOOST_TEST(b.sid != a.sid);
    BOOST_TEST(b.pid != a.pid);
    BOOST_REQUIRE(ts.log().wait("connect fresh", 2));
    BOOST_TEST(runs.load() == 3); // the first connection, the recovering attempt, the fresh socket
    BOOST_TEST(!ts.log().find_socket(a.sid).connected());
}

BOOST_AUTO_TEST_CASE(an_adapter_that_writes_the_recovery_then_refuses_it_answers_connect_once) {
    // Against its contract, the adapter's recovery step writes the CONNECT answer and returns false: the
    // client already holds that answer, so it gets no second one, and the socket lives on.
    struct writes_then_refuses : sio::memory_adapter {
        using memory_adapter::memory_adapter;
        bool add_recovered_socket(const sio::socket&, sio::restored_session&,
                                  const std::function<bool()>& write) override {
            (void)write();
            return false;
        }
    };
    auto o = with_recovery();
    o.adapter = [](sio::adapter_host& host) { return std::make_unique<writes_then_refuses>(host); };
    o.metrics.emplace();
    sio_server ts(std::move(o));
    std::atomic<int> n{0};
    const auto a = start_joined_then_dropped(ts, n);
    auto c2 = ts.client();
    const auto b = join(c2, recovery_auth(a, ""));
    BOOST_TEST(b.sid == a.sid);
    BOOST_REQUIRE(ts.log().wait("connect recovered"));
    ts.io().to("r1").emit("after", 1); // the next packet: no second CONNECT before it
    BOOST_TEST(c2.read().starts_with(R"(42["after",1)"));
    BOOST_TEST(ts.io().metrics().value("sio_sockets", {{"namespace", "/"}}) == 1);
    BOOST_TEST(ts.log().count("connect fresh") == 1u); // the first connection only
}

namespace {

/// Two threads broadcasting: the first one is held right after its packet got its offset until the
/// second has delivered its own, or is waiting for the first's step.
struct broadcast_race {
    static inline std::mutex mutex;
    static inline std::condition_variable cv;
    static inline bool second_done = false;
    static inline bool second_waits = false;
    static inline std::atomic<bool> armed{false};
    static inline std::function<void()> second;
    static inline std::thread thread;

    static void after_store() {
        if (!armed.exchange(false))
            return;
        thread = std::thread([] {
            second();
            std::lock_guard lock(mutex);
            second_done = true;
            cv.notify_all();
        });
        std::unique_lock lock(mutex);
        cv.wait_for(lock, 10s, [] { return second_done || second_waits; }); // (bounded: never a sleep)
    }
    static void contended() {
        std::lock_guard lock(mutex);
        second_waits = true;
        cv.notify_all();
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(concurrent_broadcasts_arrive_in_offset_order) {
    sio_server ts(with_recovery());
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    join(c);
    broadcast_race::second = [&ts] { ts.io().emit("second", 2); };
    sio::detail::recovery_hooks.after_store = &broadcast_race::after_store;
    sio::detail::recovery_hooks.contended = &broadcast_race::contended;
    broadcast_race::armed = true;
    ts.io().emit("first", 1);
    broadcast_race::thread.join();
    sio::detail::recovery_hooks = {};
    const std::string one = c.read();
    const std::string two = c.read();
    BOOST_TEST(one.starts_with(R"(42["first",1,)"));
    BOOST_TEST(two.starts_with(R"(42["second",2,)"));
    BOOST_TEST(std::stoull(last_argument(one)) < std::stoull(last_argument(two)));
}

BOOST_AUTO_TEST_CASE(the_admin_namespace_is_not_recovered) {
    sio_server ts(with_recovery());
    sio::admin::options ao;
    ao.auth_disabled = true;
    auto admin = sio::admin::instrument(ts.io(), ao);
    ts.start();
    auto c = ts.client();
    c.send("40/admin,");
    const std::string answer = c.read();
    BOOST_REQUIRE_MESSAGE(answer.starts_with("40/admin,{"), answer);
    BOOST_TEST(!json::parse(answer.substr(9)).as_object().contains("pid"));
    ts.io().of("/admin").emit("probe", 1); // a broadcast on it gets no offset and is not kept
    for (;;) {
        const std::string m = c.read();
        if (m.find("probe") == std::string::npos)
            continue; // the instrument's own notifications
        BOOST_TEST(m == R"(42/admin,["probe",1])");
        break;
    }
    BOOST_CHECK_THROW((void)ts.io().of_without_recovery("/"), std::logic_error); // "/" recovers already
    auto d = ts.client();
    BOOST_TEST(join(d).pid.size() == 20u); // the other namespaces still recover
    admin.stop();
}

BOOST_AUTO_TEST_CASE(hostile_pids_and_offsets_get_a_fresh_socket) {
    sio_server ts(with_recovery());
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto victim = ts.client();
    const auto v = join(victim, R"({"join":"secret"})");
    ts.io().emit("x", 0);
    const std::string victim_offset = last_argument(victim.read());
    auto live = ts.client();
    const auto l = join(live);
    drop(ts, victim, 1);
    ts.io().to("secret").emit("secret", 1);

    const std::vector<std::string> auths{
        R"({"pid":12345,"offset":"1"})",
        R"({"pid":"AAAAAAAAAAAAAAAAAAAA","offset":1})",
        R"({"pid":null})",
        R"({"pid":["x"],"offset":{}})",
        "{\"pid\":\"" + std::string(100000, 'A') + "\",\"offset\":\"1\"}",
        "{\"pid\":\"" + v.pid + "\",\"offset\":\"" + std::string(5000, '9') + "\"}",
        "{\"pid\":\"" + v.pid + "\",\"offset\":\"999999999\"}", // from the future
        "{\"pid\":\"" + v.pid + "\",\"offset\":\"abc\"}",
        "{\"pid\":\"" + v.pid + "\",\"offset\":17}",
        "{\"pid\":\"" + v.sid + "\",\"offset\":\"" + victim_offset + "\"}", // the victim's sid
        R"({"pid":"AAAAAAAAAAAAAAAAAAAA","offset":"1"})",                   // guessed
    };
    std::size_t fresh = 2;
    for (const auto& auth : auths) {
        BOOST_TEST_CONTEXT(auth.substr(0, 80)) {
            auto c = ts.client();
            const auto b = join(c, auth); // the first packet is the CONNECT answer: nothing replayed
            BOOST_TEST(b.sid != v.sid);
            BOOST_TEST(b.sid != l.sid);
            BOOST_TEST(b.pid != v.pid);
            BOOST_TEST(ts.log().wait("connect fresh", ++fresh));
            c.send(R"(42["ping"])"); // still served
            c.close();
        }
    }
    // The victim's session is intact: its own client still recovers, with the secret.
    auto back = ts.client();
    back.send("40" + recovery_auth(v, victim_offset));
    BOOST_TEST(back.read().starts_with(R"(42["secret",1,)"));
    BOOST_TEST(connect_answer(back.read()).sid == v.sid);
}

BOOST_AUTO_TEST_CASE(a_client_back_before_the_drop_was_noticed_takes_its_socket_over) {
    for (const bool takeover : {true, false}) {
        BOOST_TEST_CONTEXT("takeover " << takeover) {
            sio::connection_state_recovery_options o;
            o.takeover = takeover;
            sio_server ts(with_recovery(o));
            std::atomic<int> n{0};
            install_recovery(ts.io(), ts.log(), n);
            ts.start();
            auto old = ts.client(); // stays open: the server does not know it is gone
            const auto a = join(old, R"({"join":"r1"})");
            ts.io().emit("seen", 0);
            const std::string offset = last_argument(old.read());
            ts.io().to("r1").emit("unseen", 1); // queued on the old connection; the client never reads it
            auto c = ts.client();
            c.send("40" + recovery_auth(a, offset));
            if (!takeover) {
                const auto b = connect_answer(c.read());
                BOOST_TEST(b.sid != a.sid);
                BOOST_TEST(ts.log().find_socket(a.sid).connected()); // the live socket is untouched
                continue;
            }
            BOOST_TEST(c.read().starts_with(R"(42["unseen",1,)"));
            const auto b = connect_answer(c.read());
            BOOST_TEST(b.sid == a.sid);
            BOOST_TEST(b.pid == a.pid);
            BOOST_TEST(ts.log().wait("disconnect transport close"));
            BOOST_REQUIRE(ts.log().wait("connect recovered"));
            BOOST_TEST(old.closed()); // the old connection was closed
            BOOST_TEST(sorted(ts.log().find_socket(a.sid).rooms()) == sorted({a.sid, "r1"}),
                       boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_graceful_close_saves_every_session) {
    auto ts = std::make_unique<sio_server>(with_recovery());
    std::atomic<int> n{0};
    install_recovery(ts->io(), ts->log(), n);
    ts->start();
    auto c = ts->client();
    const auto a = join(c);
    const auto main_nsp = ts->io().of("/"); // the server forgets its namespaces once closed
    auto closed =
        ts->spawn([](sio::server& io) -> net::awaitable<bool> { // no captures: the lambda dies first
            co_await io.close(std::chrono::milliseconds(0));
            co_return true;
        }(ts->io()));
    BOOST_TEST(get(closed));
    BOOST_REQUIRE(ts->log().wait("disconnect server shutting down"));
    auto restored = ts->spawn(main_nsp.adapter().restore_session(a.pid, std::nullopt));
    const auto r = get(restored);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->session.sid == a.sid);
}

BOOST_AUTO_TEST_CASE(a_cluster_adapter_does_not_recover_and_appends_nothing) {
    bus b;
    auto opts = with_recovery();
    opts.adapter = bus_adapter::factory(b, "one");
    sio_server ts(std::move(opts));
    std::atomic<int> n{0};
    install_recovery(ts.io(), ts.log(), n);
    ts.start();
    auto c = ts.client();
    const auto a = join(c);
    BOOST_TEST(a.pid.empty());
    ts.io().emit("e", 1);
    BOOST_TEST(c.read() == R"(42["e",1])");
    ts.log().find_socket(a.sid).emit("d", 2);
    BOOST_TEST(c.read() == R"(42["d",2])");
}

BOOST_AUTO_TEST_SUITE_END()
