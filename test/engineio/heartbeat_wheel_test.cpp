// The heartbeat wheel (src/engineio/heartbeat_wheel.hpp): one timer for every session's deadlines.
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "engineio/heartbeat_wheel.hpp"

namespace net = boost::asio;
using namespace std::chrono_literals;
using sio::engineio::detail::heartbeat_wheel;
using sio::engineio::detail::wheel_client;
using clock_type = heartbeat_wheel::clock;

namespace {

struct recorder : wheel_client {
    recorder(net::any_io_executor e, std::shared_ptr<heartbeat_wheel> w)
        : ex(std::move(e)), wheel(std::move(w)) {}
    ~recorder() { wheel->cancel(*this); } // as a session does: the wheel knows its clients by address
    const net::any_io_executor& strand() const noexcept override { return ex; }
    void due(std::uint32_t generation) override { calls.push_back({generation, clock_type::now()}); }

    struct call {
        std::uint32_t generation;
        clock_type::time_point at;
    };
    net::any_io_executor ex;
    std::shared_ptr<heartbeat_wheel> wheel;
    std::vector<call> calls;
};

} // namespace

BOOST_AUTO_TEST_CASE(deadlines_fire_once_in_order_and_at_most_one_tick_early) {
    net::io_context ioc;
    auto wheel = std::make_shared<heartbeat_wheel>(ioc.get_executor(), 2ms, 8);
    auto a = std::make_shared<recorder>(ioc.get_executor(), wheel);
    auto b = std::make_shared<recorder>(ioc.get_executor(), wheel);
    auto c = std::make_shared<recorder>(ioc.get_executor(), wheel);
    const auto start = clock_type::now();
    wheel->schedule(c, 3, 45ms); // past one turn of the wheel (8 slots of 2 ms)
    wheel->schedule(a, 1, 5ms);
    wheel->schedule(b, 2, 20ms);
    BOOST_TEST(wheel->size() == 3u);
    ioc.run(); // returns once the wheel holds nothing: its timer runs only while something is scheduled
    BOOST_TEST(wheel->size() == 0u);
    BOOST_TEST_REQUIRE(a->calls.size() == 1u);
    BOOST_TEST_REQUIRE(b->calls.size() == 1u);
    BOOST_TEST_REQUIRE(c->calls.size() == 1u);
    BOOST_TEST(a->calls[0].generation == 1u);
    BOOST_TEST(b->calls[0].generation == 2u);
    BOOST_TEST(c->calls[0].generation == 3u);
    BOOST_TEST((a->calls[0].at - start >= 5ms - 2ms));
    BOOST_TEST((b->calls[0].at - start >= 20ms - 2ms));
    BOOST_TEST((c->calls[0].at - start >= 45ms - 2ms));
    BOOST_TEST((a->calls[0].at <= b->calls[0].at));
    BOOST_TEST((b->calls[0].at <= c->calls[0].at));
}

BOOST_AUTO_TEST_CASE(a_rescheduled_client_keeps_one_entry_and_a_gone_one_leaves_nothing) {
    net::io_context ioc;
    auto wheel = std::make_shared<heartbeat_wheel>(ioc.get_executor(), 1ms);
    auto kept = std::make_shared<recorder>(ioc.get_executor(), wheel);
    auto gone = std::make_shared<recorder>(ioc.get_executor(), wheel);
    std::weak_ptr<recorder> watch = gone;
    wheel->schedule(kept, 1, 3ms);
    wheel->schedule(kept, 2, 1ms); // replaces the first deadline
    wheel->schedule(gone, 7, 1ms);
    BOOST_TEST(wheel->size() == 2u);
    gone.reset();
    BOOST_TEST(watch.expired());
    BOOST_TEST(wheel->size() == 1u); // removed when it went, not at its slot
    ioc.run();
    BOOST_TEST_REQUIRE(kept->calls.size() == 1u);
    BOOST_TEST(kept->calls[0].generation == 2u);
}

BOOST_AUTO_TEST_CASE(cancel_removes_at_once_and_keeps_the_other_entries_of_the_slot) {
    net::io_context ioc;
    auto wheel = std::make_shared<heartbeat_wheel>(ioc.get_executor(), 1ms);
    std::vector<std::shared_ptr<recorder>> rs;
    for (int i = 0; i < 5; ++i) {
        rs.push_back(std::make_shared<recorder>(ioc.get_executor(), wheel));
        wheel->schedule(rs.back(), static_cast<std::uint32_t>(i), 2ms); // all in one slot or two
    }
    wheel->cancel(*rs[1]);
    wheel->cancel(*rs[1]); // twice is harmless
    wheel->cancel(*rs[3]);
    BOOST_TEST(wheel->size() == 3u);
    ioc.run();
    BOOST_TEST(rs[0]->calls.size() == 1u);
    BOOST_TEST(rs[1]->calls.empty());
    BOOST_TEST(rs[2]->calls.size() == 1u);
    BOOST_TEST(rs[3]->calls.empty());
    BOOST_TEST(rs[4]->calls.size() == 1u);
}

BOOST_AUTO_TEST_CASE(stop_drops_everything) {
    net::io_context ioc;
    auto wheel = std::make_shared<heartbeat_wheel>(ioc.get_executor(), 1ms);
    auto r = std::make_shared<recorder>(ioc.get_executor(), wheel);
    wheel->schedule(r, 1, 10s);
    wheel->stop();
    BOOST_TEST(wheel->size() == 0u);
    ioc.run(); // nothing pending: returns at once
    BOOST_TEST(r->calls.empty());
    wheel->cancel(*r); // after stop: nothing to remove
}

BOOST_AUTO_TEST_CASE(the_tick_follows_the_shortest_period) {
    BOOST_TEST(heartbeat_wheel::tick_for(25000ms).count() == 97);
    BOOST_TEST(heartbeat_wheel::tick_for(20000ms).count() == 78);
    BOOST_TEST(heartbeat_wheel::tick_for(200ms).count() == 1);
    BOOST_TEST(heartbeat_wheel::tick_for(10ms).count() == 1);
    BOOST_TEST(heartbeat_wheel::tick_for(3600000ms).count() == 1000);
}

namespace {

/// Drives a wheel with a controlled clock: the wheel's own timer runs on `timer_ioc`, which is never run;
/// the test calls advance() at the instants the timer would wake, and runs the posted calls itself.
struct controlled_wheel {
    net::io_context timer_ioc;
    net::io_context client_ioc;
    clock_type::time_point origin = clock_type::now();
    std::shared_ptr<heartbeat_wheel> wheel;
    std::chrono::milliseconds tick;

    explicit controlled_wheel(std::chrono::milliseconds shortest)
        : wheel(std::make_shared<heartbeat_wheel>(timer_ioc.get_executor(),
                                                  heartbeat_wheel::tick_for(shortest), 1024, origin)),
          tick(heartbeat_wheel::tick_for(shortest)) {}

    /// Wakes the wheel at each instant its timer asks for until `r` gets a call; returns that instant.
    clock_type::time_point run_until_call(recorder& r, clock_type::time_point limit) {
        const auto before = r.calls.size();
        while (r.calls.size() == before) {
            const auto wake = wheel->next_wake();
            BOOST_TEST_REQUIRE((wake <= limit)); // else the deadline was missed
            wheel->advance(wake);
            client_ioc.poll();
            client_ioc.restart();
            if (r.calls.size() != before)
                return wake;
        }
        return {};
    }
};

} // namespace

// A session's heartbeat is two chained deadlines: the ping after ping_interval, then the close after
// ping_timeout without a pong. Node closes at exactly ping_interval + ping_timeout; the wheel must not add
// to that (rounding each deadline up to its tick made the close up to two ticks late).
BOOST_AUTO_TEST_CASE(chained_ping_and_timeout_close_no_later_than_their_sum) {
    for (const auto phase : {0.0, 0.3, 0.5, 0.99}) {
        for (const auto [interval, timeout] : {std::pair{300ms, 200ms}, std::pair{25000ms, 20000ms}}) {
            controlled_wheel w(std::min(interval, timeout));
            recorder r(w.client_ioc.get_executor(), w.wheel);
            auto owner = std::shared_ptr<recorder>(&r, [](recorder*) {}); // a handle, not ownership
            // The handshake at a point inside a tick.
            const auto t0 =
                w.origin + 50 * w.tick + std::chrono::duration_cast<clock_type::duration>(w.tick * phase);
            w.wheel->schedule_at(owner, 1, t0 + interval);
            const auto ping = w.run_until_call(r, t0 + interval);
            BOOST_TEST((ping <= t0 + interval));
            BOOST_TEST((ping > t0 + interval - w.tick)); // at most one tick early
            w.wheel->schedule_at(owner, 2, ping + timeout);
            const auto close = w.run_until_call(r, t0 + interval + timeout);
            BOOST_TEST((close <= t0 + interval + timeout));
            BOOST_TEST((close > t0 + interval + timeout - 2 * w.tick));
            BOOST_TEST(r.calls.size() == 2u);
            BOOST_TEST(r.calls.back().generation == 2u);
            BOOST_TEST(w.wheel->size() == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(nothing_fires_before_the_tick_its_deadline_falls_in) {
    controlled_wheel w(300ms);
    recorder r(w.client_ioc.get_executor(), w.wheel);
    auto owner = std::shared_ptr<recorder>(&r, [](recorder*) {});
    const auto deadline = w.origin + 100 * w.tick + w.tick / 2;
    w.wheel->schedule_at(owner, 1, deadline);
    w.wheel->advance(w.origin + 100 * w.tick - 1ns);
    w.client_ioc.poll();
    BOOST_TEST(r.calls.empty());
    BOOST_TEST(w.wheel->size() == 1u);
    w.wheel->advance(w.origin + 100 * w.tick);
    w.client_ioc.restart();
    w.client_ioc.poll();
    BOOST_TEST(r.calls.size() == 1u);
}
