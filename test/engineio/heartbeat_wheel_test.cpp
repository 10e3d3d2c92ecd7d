// The heartbeat wheel (src/engineio/heartbeat_wheel.hpp): one timer for every session's deadlines.
#define BOOST_TEST_MODULE engineio_heartbeat_wheel
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
using clock_type = std::chrono::steady_clock;

namespace {

struct recorder : wheel_client {
    explicit recorder(net::any_io_executor e) : ex(std::move(e)) {}
    const net::any_io_executor& strand() const noexcept override { return ex; }
    void due(std::uint32_t generation) override { calls.push_back({generation, clock_type::now()}); }

    struct call {
        std::uint32_t generation;
        clock_type::time_point at;
    };
    net::any_io_executor ex;
    std::vector<call> calls;
};

} // namespace

BOOST_AUTO_TEST_CASE(deadlines_fire_once_in_order_and_never_early) {
    net::io_context ioc;
    auto wheel = std::make_shared<heartbeat_wheel>(ioc.get_executor(), 2ms, 8);
    auto a = std::make_shared<recorder>(ioc.get_executor());
    auto b = std::make_shared<recorder>(ioc.get_executor());
    auto c = std::make_shared<recorder>(ioc.get_executor());
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
    BOOST_TEST((a->calls[0].at - start >= 5ms));
    BOOST_TEST((b->calls[0].at - start >= 20ms));
    BOOST_TEST((c->calls[0].at - start >= 45ms));
    BOOST_TEST((a->calls[0].at <= b->calls[0].at));
    BOOST_TEST((b->calls[0].at <= c->calls[0].at));
}

BOOST_AUTO_TEST_CASE(a_rescheduled_client_gets_every_generation_and_a_gone_one_nothing) {
    net::io_context ioc;
    auto wheel = std::make_shared<heartbeat_wheel>(ioc.get_executor(), 1ms);
    auto kept = std::make_shared<recorder>(ioc.get_executor());
    auto gone = std::make_shared<recorder>(ioc.get_executor());
    std::weak_ptr<recorder> watch = gone;
    wheel->schedule(kept, 1, 3ms);
    wheel->schedule(kept, 2, 1ms); // the client tells stale calls apart by their generation
    wheel->schedule(gone, 7, 1ms);
    gone.reset();
    ioc.run();
    BOOST_TEST(watch.expired());
    BOOST_TEST_REQUIRE(kept->calls.size() == 2u);
    BOOST_TEST(kept->calls[0].generation == 2u);
    BOOST_TEST(kept->calls[1].generation == 1u);
}

BOOST_AUTO_TEST_CASE(stop_drops_everything) {
    net::io_context ioc;
    auto wheel = std::make_shared<heartbeat_wheel>(ioc.get_executor(), 1ms);
    auto r = std::make_shared<recorder>(ioc.get_executor());
    wheel->schedule(r, 1, 10s);
    wheel->stop();
    BOOST_TEST(wheel->size() == 0u);
    ioc.run(); // nothing pending: returns at once
    BOOST_TEST(r->calls.empty());
}

BOOST_AUTO_TEST_CASE(the_tick_follows_the_shortest_period) {
    BOOST_TEST(heartbeat_wheel::tick_for(25000ms).count() == 781);
    BOOST_TEST(heartbeat_wheel::tick_for(300ms).count() == 9);
    BOOST_TEST(heartbeat_wheel::tick_for(10ms).count() == 1);
    BOOST_TEST(heartbeat_wheel::tick_for(3600000ms).count() == 1000);
}
