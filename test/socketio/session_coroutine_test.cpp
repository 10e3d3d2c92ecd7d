// Loopback tests of a session written as a coroutine: `socket::receive()` (in order, with acks, beside
// `on()` handlers, by name, with a timeout), `socket::disconnected()`, what a waiting call does when the
// socket disconnects (each reason), when the server closes and when the io_context stops, exceptions ending
// the coroutine, and the back-pressure of the events waiting for `receive()`.
//
// Clients are raw WebSocket connections (support/sio_loopback.hpp). No sleep is used as synchronisation:
// tests wait for what the server's coroutines record, with deadlines.
#include <sio/sio.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "support/manual_time.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;

namespace {

std::string str(sio::disconnect_reason r) {
    return std::string(sio::to_string(r));
}

/// The event as `name:arg0` (arg0 printed as JSON), for the recorder.
std::string show(const sio::event& ev) {
    std::string out = ev.name;
    if (ev.args.size() > 0)
        out += ":" + boost::json::serialize(ev.args.values.at(0));
    return out;
}

/// A door server coroutines wait at until the test thread opens it (no polling, no sleep).
class gate {
public:
    net::awaitable<void> wait() {
        const auto ex = co_await net::this_coro::executor;
        auto timer = std::make_shared<net::steady_timer>(ex, net::steady_timer::time_point::max());
        {
            std::lock_guard lock(mutex_);
            if (open_)
                co_return;
            waiting_.emplace_back(ex, timer);
        }
        // The cancel open() posts to `ex` runs after this wait starts: this coroutine holds `ex` until then.
        co_await timer->async_wait(net::as_tuple(net::use_awaitable));
    }
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        for (auto& [ex, timer] : waiting_)
            net::post(ex, [timer] { timer->cancel(); });
        waiting_.clear();
    }

private:
    std::mutex mutex_;
    bool open_ = false;
    std::vector<std::pair<net::any_io_executor, std::shared_ptr<net::steady_timer>>> waiting_;
};

// (Named coroutine functions rather than capturing lambdas for co_spawn: GCC 12, docs/emitting.md.)

/// Receives from a coroutine of another executor.
net::awaitable<void> receive_elsewhere(sio::socket s, recorder& log) {
    // Without a connection coroutine, events are kept from the first receive() on.
    co_await s.receive(std::chrono::milliseconds(0));
    log.add("listening");
    auto ev = co_await s.receive();
    log.add(ev ? "got " + show(*ev) : "none");
    log.add("then " + str(co_await s.disconnected()));
}

net::awaitable<void> look_for_kept_events(sio::socket s, recorder& log) {
    auto ev = co_await s.receive(std::chrono::milliseconds(0));
    log.add(ev ? "kept " + show(*ev) : "nothing kept");
}

/// A session that records every event it receives and, after the disconnection, how it ended.
void install_recording_session(sio::namespace_ nsp, recorder& log) {
    nsp.on_connection([&log](sio::socket s) -> net::awaitable<void> {
        log.keep(s);
        log.add("connect");
        while (auto ev = co_await s.receive())
            log.add("got " + show(*ev));
        log.add("ended " + str(*s.disconnection_reason()));
        log.add("after " + str(co_await s.disconnected()));
    });
}

} // namespace

BOOST_AUTO_TEST_SUITE(receive)

BOOST_AUTO_TEST_CASE(events_arrive_in_order_from_concurrent_clients) {
    constexpr int clients = 4;
    constexpr int per_client = 300;
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        int expected = 0;
        bool ordered = true;
        while (auto ev = co_await s.receive()) {
            if (ev->name == "done") {
                log.add(ordered && expected == per_client ? "in order" : "out of order");
                continue;
            }
            ordered = ordered && ev->args.get<int>(0) == expected;
            ++expected;
        }
    });
    ts.start(2);
    // Each client is driven by its own thread, so each has its own io_context.
    std::vector<std::unique_ptr<net::io_context>> client_iocs;
    std::vector<std::unique_ptr<sio_client>> cs;
    for (int i = 0; i < clients; ++i) {
        client_iocs.push_back(std::make_unique<net::io_context>());
        cs.emplace_back(new sio_client(*client_iocs.back(), ts.port()));
        cs.back()->connect();
    }
    std::vector<std::thread> senders;
    for (auto& c : cs)
        senders.emplace_back([&c] {
            for (int n = 0; n < per_client; ++n)
                c->send(R"(42["n",)" + std::to_string(n) + "]");
            c->send(R"(42["done"])");
        });
    for (auto& t : senders)
        t.join();
    BOOST_TEST(log.wait("in order", clients));
    BOOST_TEST(log.count("out of order") == 0u);
}

BOOST_AUTO_TEST_CASE(an_event_received_carries_its_ack) {
    sio_server ts;
    ts.io().on_connection([](sio::socket s) -> net::awaitable<void> {
        while (auto ev = co_await s.receive())
            if (ev->ack)
                ev->ack(ev->args.get<int>(0) * 2);
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(427["double",21])");
    BOOST_TEST(c.read() == "437[42]");
    c.send(R"(428["double",5])");
    BOOST_TEST(c.read() == "438[10]");
}

BOOST_AUTO_TEST_CASE(on_handlers_take_their_events_and_receive_gets_the_rest) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        s.on("ping", [](sio::socket s, sio::event&) { s.emit("pong"); });
        auto hello = co_await s.receive("hello"); // the others wait, in order
        log.add("hello " + show(*hello));
        while (auto ev = co_await s.receive())
            log.add("got " + show(*ev));
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(42["a",1])");
    c.send(R"(42["ping"])");
    BOOST_TEST(c.read() == R"(42["pong"])");
    c.send(R"(42["b",2])");
    c.send(R"(42["hello","me"])");
    c.send(R"(42["ping"])");
    BOOST_TEST(c.read() == R"(42["pong"])");
    c.send(R"(42["c",3])");
    BOOST_TEST(log.wait("got c:3"));
    const std::vector<std::string> expected{"hello hello:\"me\"", "got a:1", "got b:2", "got c:3"};
    BOOST_TEST(log.events() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_timeout_gives_an_empty_result_while_connected) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        auto none = co_await s.receive(std::chrono::milliseconds(50));
        log.add(none ? "got one" : (s.connected() ? "timed out connected" : "disconnected"));
        log.add("ready");
        // "x" does not come in time; "y" stays waiting for the next receive().
        auto x = co_await s.receive("x", std::chrono::milliseconds(200));
        log.add(x ? "got x" : "no x");
        auto y = co_await s.receive(std::chrono::seconds(10));
        log.add(y ? "got " + show(*y) : "no y");
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    BOOST_TEST(log.wait("ready"));
    c.send(R"(42["y",1])");
    BOOST_TEST(log.wait("got y:1"));
    const std::vector<std::string> expected{"timed out connected", "ready", "no x", "got y:1"};
    BOOST_TEST(log.events() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(receive_from_a_coroutine_of_another_executor) {
    sio_server ts;
    auto& log = ts.log();
    std::promise<sio::socket> connected;
    ts.io().on_connection([&connected](sio::socket s) { connected.set_value(s); });
    ts.start();
    auto c = ts.client();
    c.connect();
    auto s = connected.get_future().get();
    // Not on the socket's strand: the calls hop to it and resume here.
    net::io_context other;
    net::co_spawn(other, receive_elsewhere(s, log), net::detached);
    std::thread runner([&other] { other.run(); });
    BOOST_TEST(log.wait("listening"));
    c.send(R"(42["e",1])");
    BOOST_TEST(log.wait("got e:1"));
    c.send("41");
    BOOST_TEST(log.wait("then client namespace disconnect"));
    runner.join();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(disconnection)

BOOST_AUTO_TEST_CASE(client_namespace_disconnect_ends_a_waiting_receive) {
    sio_server ts;
    auto& log = ts.log();
    install_recording_session(ts.io().of("/"), log);
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(42["a",1])");
    BOOST_TEST(log.wait("got a:1"));
    c.send("41");
    BOOST_TEST(log.wait("after client namespace disconnect"));
    BOOST_TEST(log.count("ended client namespace disconnect") == 1u);
}

BOOST_AUTO_TEST_CASE(server_disconnect_ends_a_waiting_receive) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        s.on("kick", [](sio::socket s, sio::event&) { s.disconnect(); });
        log.add("waiting");
        auto ev = co_await s.receive();
        log.add(ev ? "got one" : "empty: " + str(*s.disconnection_reason()));
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    BOOST_TEST(log.wait("waiting"));
    c.send(R"(42["kick"])");
    BOOST_TEST(c.read() == "41");
    BOOST_TEST(log.wait("empty: server namespace disconnect"));
}

BOOST_AUTO_TEST_CASE(transport_close_ends_a_waiting_receive_after_the_events_already_in) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        co_await s.receive("first");
        log.add("first");
        // While this coroutine waits for "go" (never sent), a and b wait; the client then goes away.
        auto go = co_await s.receive("go");
        log.add(go ? "go" : "no go");
        while (auto ev = co_await s.receive())
            log.add("got " + show(*ev));
        log.add("ended " + str(*s.disconnection_reason()));
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(42["first"])");
    BOOST_TEST(log.wait("first"));
    c.send(R"(42["a",1])");
    c.send(R"(42["b",2])");
    c.close();
    BOOST_TEST(log.wait("ended transport close"));
    const std::vector<std::string> expected{"first", "no go", "got a:1", "got b:2", "ended transport close"};
    BOOST_TEST(log.events() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ping_timeout_ends_a_waiting_disconnected) {
    sio::server_options options;
    options.engine.ping_interval = 100ms;
    options.engine.ping_timeout = 100ms;
    sio_server ts(options);
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        log.add("waiting");
        log.add("disconnected: " + str(co_await s.disconnected()));
        auto ev = co_await s.receive();
        log.add(ev ? "got one" : "empty");
    });
    ts.start();
    auto c = ts.client();
    c.answer_pings(false);
    c.connect();
    BOOST_TEST(log.wait("disconnected: ping timeout"));
    BOOST_TEST(log.wait("empty"));
}

BOOST_AUTO_TEST_CASE(a_connection_held_past_one_more_heartbeat_cycle_times_out) {
    // The coroutine is stuck elsewhere (a call that never returns), not in receive(): once its one waiting
    // event fills the bound, reading stays held. The heartbeat grants one more cycle, then closes the
    // connection.
    const auto clock = std::make_shared<manual_clock>();
    sio::server_options options;
    options.engine.ping_interval = 100ms;
    options.engine.ping_timeout = 100ms;
    options.max_received_events = 1;
    sio_server ts(options);
    on_clock(clock)(ts.io().engine());
    auto& log = ts.log();
    auto never = std::make_shared<gate>();
    ts.io().on_connection([&log, never](sio::socket s) -> net::awaitable<void> {
        s.on_any([&log](sio::socket, const sio::event& ev) { log.add("arrived " + ev.name); });
        s.on_disconnect(
            [&log](sio::socket, sio::disconnect_reason r) { log.add("disconnected: " + str(r)); });
        auto first = co_await s.receive(); // from now on the bound holds reading
        if (first && first->ack)
            first->ack("ok");
        co_await never->wait();
    });
    ts.start();
    auto c = ts.client();
    c.answer_pings(false);
    c.connect();
    c.send(R"(421["first"])");
    BOOST_TEST_REQUIRE(c.read() == R"(431["ok"])");
    c.send(R"(42["kept"])"); // waits for a receive() that never comes: the bound is reached
    BOOST_TEST_REQUIRE(log.wait("arrived kept"));
    // Each step makes the wheel handle what is due and set its timer again (armed() + 1); the close comes
    // at the end of the second cycle (ping, timeout, granted cycle: ping, timeout).
    for (int step = 0; step < 4; ++step) {
        BOOST_TEST(log.count("disconnected: ping timeout") == 0u);
        const auto armed = clock->armed();
        clock->advance(100ms);
        if (step < 3)
            BOOST_TEST_REQUIRE(clock->wait_armed(armed + 1, 5s));
    }
    BOOST_TEST(log.wait("disconnected: ping timeout"));
}

BOOST_AUTO_TEST_CASE(server_close_ends_every_waiting_call) {
    sio_server ts;
    auto& log = ts.log();
    install_recording_session(ts.io().of("/"), log);
    ts.start();
    auto a = ts.client();
    a.connect();
    auto b = ts.client();
    b.connect();
    BOOST_TEST(log.wait("connect", 2));
    auto closing = std::async(std::launch::async, [&ts] { ts.stop(); });
    BOOST_TEST(a.closed()); // the clients answer the closing handshake
    BOOST_TEST(b.closed());
    closing.get();
    BOOST_TEST(log.count("ended server shutting down") == 2u);
    BOOST_TEST(log.count("after server shutting down") == 2u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_wait_throws_and_takes_no_event) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        using namespace boost::asio::experimental::awaitable_operators;
        net::steady_timer short_wait(co_await net::this_coro::executor, std::chrono::milliseconds(20));
        auto first = co_await (s.receive() || short_wait.async_wait(net::use_awaitable));
        log.add(first.index() == 1 ? "timer won" : "receive won");
        log.add("ready");
        auto ev = co_await s.receive();
        log.add(ev ? "got " + show(*ev) : "none");
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    BOOST_TEST(log.wait("ready"));
    c.send(R"(42["e",1])");
    BOOST_TEST(log.wait("got e:1"));
    BOOST_TEST(log.count("timer won") == 1u);
}

BOOST_AUTO_TEST_CASE(a_stopped_io_context_never_resumes_a_waiting_receive_and_frees_its_frame) {
    auto resumed = std::make_shared<std::atomic<bool>>(false);
    auto destroyed = std::make_shared<std::atomic<bool>>(false);
    struct on_destroy {
        std::shared_ptr<std::atomic<bool>> flag;
        ~on_destroy() { flag->store(true); }
    };
    recorder log;
    net::io_context client_ioc;
    {
        auto ioc = std::make_unique<net::io_context>();
        auto io = std::make_unique<sio::server>(ioc->get_executor());
        io->on_connection([&log, resumed, destroyed](sio::socket s) -> net::awaitable<void> {
            on_destroy guard{destroyed};
            log.add("waiting");
            co_await s.receive();
            resumed->store(true);
        });
        BOOST_TEST_REQUIRE(!io->listen("127.0.0.1", 0));
        std::thread runner([&ioc] { ioc->run(); });
        sio_client c(client_ioc, io->local_port());
        c.connect();
        BOOST_TEST(log.wait("waiting"));
        ioc->stop();
        runner.join();
        io.reset(); // closes, on a loop that no longer runs
        BOOST_TEST(!destroyed->load());
        ioc.reset(); // the pending wait and the coroutine's frame are destroyed here
    }
    BOOST_TEST(destroyed->load());
    BOOST_TEST(!resumed->load());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(session)

BOOST_AUTO_TEST_CASE(an_exception_ends_the_coroutine_and_the_socket_stays_connected) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        log.keep(s);
        s.on("ping", [](sio::socket s, sio::event&) { s.emit("pong"); });
        co_await s.receive("boom");
        log.add("throwing");
        throw std::runtime_error("the session failed");
    });
    ts.start();
    auto c = ts.client();
    const auto sid = c.connect();
    c.send(R"(42["boom"])");
    BOOST_TEST(log.wait("throwing"));
    c.send(R"(42["ping"])");
    BOOST_TEST(c.read() == R"(42["pong"])");
    BOOST_TEST(log.find_socket(sid).connected());
}

BOOST_AUTO_TEST_CASE(events_before_the_first_receive_are_kept_while_the_coroutine_runs) {
    sio_server ts;
    auto& log = ts.log();
    auto busy = std::make_shared<gate>();
    ts.io().on_connection([&log, busy](sio::socket s) -> net::awaitable<void> {
        log.add("busy");
        co_await busy->wait(); // something long before the first receive()
        while (auto ev = co_await s.receive(std::chrono::milliseconds(500)))
            log.add("got " + show(*ev));
        log.add("done");
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    BOOST_TEST(log.wait("busy"));
    c.send(R"(42["a",1])");
    c.send(R"(42["b",2])");
    c.send(R"(42["ping"])"); // no handler: kept as well
    c.send(R"(42["end"])");
    c.send("41"); // and the disconnection: the waiting events are still received
    busy->open();
    BOOST_TEST(log.wait("done"));
    const std::vector<std::string> expected{"busy", "got a:1", "got b:2", "got ping", "got end", "done"};
    BOOST_TEST(log.events() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_coroutine_that_ended_keeps_no_events) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        log.keep(s);
        s.on("count", [&log](sio::socket s, sio::event&) {
            // From an on() coroutine, receive() finds nothing kept while the connection coroutine ran.
            net::co_spawn(s.executor(), look_for_kept_events(s, log), net::detached);
        });
        co_await s.receive("stop");
        log.add("stopped");
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(42["stop"])");
    BOOST_TEST(log.wait("stopped"));
    c.send(R"(42["unhandled",1])"); // the coroutine ended: dropped, as without receive()
    c.send(R"(42["count"])");
    BOOST_TEST(log.wait("nothing kept"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(back_pressure)

// A coroutine that does not take events: once `max_received_bytes` is reached, the server stops reading
// the connection, so what waits on the server stays within the bound plus one read (64 KiB on a plain
// WebSocket); then the coroutine takes every event, in order, and none is lost.
BOOST_AUTO_TEST_CASE(a_slow_coroutine_holds_the_client_and_loses_nothing) {
    constexpr int events = 400;
    constexpr std::size_t event_size = 10 * 1024;
    constexpr std::size_t bound = 100 * 1024;
    sio::server_options options;
    options.max_received_bytes = bound;
    sio_server ts(options);
    auto& log = ts.log();
    struct counters {
        int arrived = 0; // strand only
        int taken = 0;
        int most_waiting = 0;
    };
    auto n = std::make_shared<counters>();
    auto slow = std::make_shared<gate>();
    ts.io().on_connection([&log, n, slow](sio::socket s) -> net::awaitable<void> {
        s.on_any([n](sio::socket, const sio::event&) {
            ++n->arrived;
            n->most_waiting = std::max(n->most_waiting, n->arrived - n->taken);
        });
        auto first = co_await s.receive();
        co_await slow->wait(); // a slow consumer
        int expected = 0;
        bool ordered = first && first->args.get<int>(0) == expected++;
        ++n->taken;
        while (auto ev = co_await s.receive()) {
            ordered = ordered && ev->args.get<int>(0) == expected++;
            ++n->taken;
            if (ev->ack)
                ev->ack(expected);
        }
        log.add(ordered && expected == events ? "all in order" : "lost or reordered");
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    const std::string filler(event_size, 'x');
    auto sender = std::async(std::launch::async, [&] {
        for (int i = 0; i < events - 1; ++i)
            c.send(R"(42["e",)" + std::to_string(i) + R"(,")" + filler + R"("])");
        c.send(R"(421["e",)" + std::to_string(events - 1) + "]");
    });
    // 4 MB: more than the kernel buffers take at once on loopback, so the sender blocks while the server
    // does not read. Whether it blocked or not, the coroutine starts taking events after this.
    sender.wait_for(std::chrono::milliseconds(500));
    slow->open();
    sender.get();
    BOOST_TEST(c.read() == "431[400]");
    c.send("41");
    BOOST_TEST(log.wait("all in order"));
    BOOST_TEST(log.count("lost or reordered") == 0u);
    const auto read_size = 64 * 1024;
    BOOST_TEST(n->most_waiting <= static_cast<int>((bound + read_size) / event_size + 2));
    BOOST_TEST(n->most_waiting > 1);
}

BOOST_AUTO_TEST_SUITE_END()

// The bound holds reading only while the coroutine will come back to receive(): a wait that needs the
// connection read (one name, the disconnection, an acknowledgement of its emit) keeps it read, and the
// events beyond the bound are then dropped instead.
BOOST_AUTO_TEST_SUITE(waits_that_need_reading)

net::awaitable<void> count_kept(sio::socket s, recorder& log) {
    int kept = 0;
    while (co_await s.receive(std::chrono::milliseconds(0)))
        ++kept;
    log.add("kept " + std::to_string(kept));
}

BOOST_AUTO_TEST_CASE(a_wait_for_one_name_reads_past_the_bound) {
    sio::server_options options;
    options.max_received_events = 2;
    sio_server ts(options);
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        auto first = co_await s.receive(); // the bound may hold reading from now on
        if (first && first->ack)
            first->ack("ok");
        auto x = co_await s.receive("x"); // behind five other events
        log.add(x ? "got " + show(*x) : "no x");
        co_await count_kept(s, log);
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(421["first"])");
    BOOST_TEST_REQUIRE(c.read() == R"(431["ok"])");
    for (int i = 0; i < 5; ++i)
        c.send(R"(42["other",)" + std::to_string(i) + "]");
    c.send(R"(42["x",7])");
    BOOST_TEST(log.wait("got x:7"));
    BOOST_TEST(log.wait("kept 2")); // the bound; the other three were dropped
}

BOOST_AUTO_TEST_CASE(an_ack_the_coroutine_awaits_is_read_past_the_bound) {
    sio::server_options options;
    options.max_received_events = 2;
    sio_server ts(options);
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        auto first = co_await s.receive();
        if (first && first->ack)
            first->ack("ok");
        auto answer = co_await s.timeout(std::chrono::seconds(30)).emit_with_ack("question");
        log.add(answer.error ? "ack failed: " + answer.error.message()
                             : "ack " + answer.args.get<std::string>(0));
        co_await count_kept(s, log);
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(421["first"])");
    BOOST_TEST_REQUIRE(c.read() == R"(431["ok"])");
    BOOST_TEST_REQUIRE(c.read() == R"(420["question"])");
    for (int i = 0; i < 5; ++i)
        c.send(R"(42["other",)" + std::to_string(i) + "]");
    c.send(R"(430["yes"])");
    BOOST_TEST(log.wait("ack yes"));
    BOOST_TEST(log.wait("kept 2"));
}

BOOST_AUTO_TEST_CASE(a_wait_for_the_disconnection_keeps_reading) {
    sio::server_options options;
    options.max_received_events = 2;
    sio_server ts(options);
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) -> net::awaitable<void> {
        s.on("probe", [&log](sio::socket, sio::event&) { log.add("probe"); });
        auto first = co_await s.receive();
        if (first && first->ack)
            first->ack("ok");
        log.add("ended " + str(co_await s.disconnected()));
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(421["first"])");
    BOOST_TEST_REQUIRE(c.read() == R"(431["ok"])");
    for (int i = 0; i < 5; ++i)
        c.send(R"(42["other",)" + std::to_string(i) + "]");
    c.send(R"(42["probe"])"); // read although five events beyond the bound came first
    BOOST_TEST(log.wait("probe"));
    c.send("41");
    BOOST_TEST(log.wait("ended client namespace disconnect"));
}

net::awaitable<void> wait_for_go(sio::socket s, recorder& log) {
    co_await s.receive(std::chrono::milliseconds(0)); // events are kept from now on
    log.add("listening");
    auto go = co_await s.receive("go");
    log.add(go ? "go" : "no go");
}

BOOST_AUTO_TEST_CASE(receive_from_an_on_handler_never_holds_reading) {
    // No connection coroutine: an `on()` handler starts one receive("go"). The events that no handler takes
    // afterwards are kept up to the bound and dropped beyond it; reading is never held for them.
    sio::server_options options;
    options.max_received_events = 2;
    sio_server ts(options);
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) {
        s.on("start", [&log](sio::socket s, sio::event&) {
            net::co_spawn(s.executor(), wait_for_go(s, log), net::detached);
        });
        s.on("probe", [&log](sio::socket, sio::event&) { log.add("probe"); });
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(42["start"])");
    BOOST_TEST_REQUIRE(log.wait("listening"));
    c.send(R"(42["go"])");
    BOOST_TEST_REQUIRE(log.wait("go"));
    for (int i = 0; i < 5; ++i)
        c.send(R"(42["other",)" + std::to_string(i) + "]");
    c.send(R"(42["probe"])");
    BOOST_TEST(log.wait("probe"));
}

BOOST_AUTO_TEST_SUITE_END()
