// The Engine.IO heartbeat state machine (src/engineio/heartbeat.hpp), driven by a clock the test controls:
// no socket, no timer, no waiting.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "engineio/heartbeat.hpp"

using namespace std::chrono_literals;
using sio::engineio::detail::heartbeat;
using sio::engineio::detail::session_state;
using ms = std::chrono::milliseconds;
using action = heartbeat::action;

namespace {

constexpr heartbeat::timing timing{ms(100), ms(40), ms(70)};

/// A session as the heartbeat sees it, on a clock the test moves: it does what each step says (a
/// deadline, a ping, a close) and records it.
struct driven_session {
    heartbeat beat;
    session_state state = session_state::open;
    ms now{0};
    std::optional<ms> deadline; ///< the deadline scheduled last, named `deadline_generation`
    std::uint32_t deadline_generation = 0;
    std::vector<ms> pings;           ///< when each ping was written
    std::optional<action> closed_by; ///< close_ping_timeout or close_timeout
    std::optional<ms> closed_at;

    void apply(heartbeat::step s) {
        switch (s.what) {
        case action::none:
            return;
        case action::ping_and_wait:
            pings.push_back(now);
            [[fallthrough]];
        case action::wait:
            deadline = now + s.after;
            deadline_generation = beat.generation();
            return;
        case action::close_ping_timeout:
        case action::close_timeout:
            close(s.what);
            return;
        }
    }
    void close(std::optional<action> by) {
        state = session_state::closed;
        closed_by = by;
        closed_at = now;
        beat.cancel();
    }
    void start() { apply(beat.arm(timing, state)); }
    void pong() { apply(beat.pong_received(timing, state)); }
    void begin_graceful_close() {
        state = session_state::closing;
        apply(beat.arm(timing, state));
    }
    /// Moves the clock to `t`, passing the deadlines due by then in order.
    void advance_to(ms t) {
        while (deadline && *deadline <= t) {
            now = *deadline;
            deadline.reset();
            if (beat.is_current(deadline_generation))
                apply(beat.deadline_passed(timing, state));
        }
        now = t;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(an_open_session_pings_after_the_interval) {
    heartbeat beat;
    BOOST_TEST((beat.arm(timing, session_state::open) == heartbeat::step{action::wait, ms(100)}));
    BOOST_TEST((beat.deadline_passed(timing, session_state::open) ==
                heartbeat::step{action::ping_and_wait, ms(40)}));
}

BOOST_AUTO_TEST_CASE(no_pong_within_the_timeout_ends_the_session) {
    driven_session s;
    s.start();
    s.advance_to(ms(139));
    BOOST_TEST(s.pings == std::vector<ms>{ms(100)});
    BOOST_TEST(!s.closed_by.has_value());
    s.advance_to(ms(1000));
    BOOST_TEST_REQUIRE(s.closed_by.has_value());
    BOOST_TEST((*s.closed_by == action::close_ping_timeout));
    BOOST_TEST(s.closed_at->count() == 140); // the ping's time plus ping_timeout
    BOOST_TEST(s.pings.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_client_that_answers_in_time_stays_open_and_each_pong_restarts_the_cycle) {
    driven_session s;
    s.start();
    for (int cycle = 0; cycle < 50; ++cycle) {
        s.advance_to(s.pings.empty() ? ms(100) : s.pings.back() + ms(39) + ms(100));
        BOOST_TEST_REQUIRE(s.pings.size() == static_cast<std::size_t>(cycle + 1));
        s.advance_to(s.pings.back() + ms(39)); // one millisecond before the timeout
        s.pong();
    }
    BOOST_TEST(!s.closed_by.has_value());
    // Each ping comes one interval after the pong before it.
    for (std::size_t i = 1; i < s.pings.size(); ++i)
        BOOST_TEST((s.pings[i] - s.pings[i - 1]).count() == 139);
}

BOOST_AUTO_TEST_CASE(a_replaced_deadline_is_not_current) {
    heartbeat beat;
    beat.arm(timing, session_state::open);
    const auto first = beat.generation();
    beat.pong_received(timing, session_state::open); // an unsolicited pong starts a new cycle
    BOOST_TEST(!beat.is_current(first));
    BOOST_TEST(beat.is_current(beat.generation()));
    const auto second = beat.generation();
    beat.cancel();
    BOOST_TEST(!beat.is_current(second));
}

BOOST_AUTO_TEST_CASE(a_late_pong_does_not_save_a_timed_out_session) {
    driven_session s;
    s.start();
    s.advance_to(ms(140));
    BOOST_TEST_REQUIRE(s.closed_by.has_value());
    s.pong();
    BOOST_TEST(!s.deadline.has_value());
    BOOST_TEST((s.state == session_state::closed));
}

BOOST_AUTO_TEST_CASE(a_graceful_close_is_bounded_by_the_close_timeout) {
    driven_session s;
    s.start();
    s.advance_to(ms(50));
    s.begin_graceful_close(); // replaces the ping deadline
    s.advance_to(ms(119));
    BOOST_TEST(s.pings.empty()); // no ping while closing
    BOOST_TEST(!s.closed_by.has_value());
    s.advance_to(ms(120));
    BOOST_TEST_REQUIRE(s.closed_by.has_value());
    BOOST_TEST((*s.closed_by == action::close_timeout));
}

BOOST_AUTO_TEST_CASE(a_pong_while_closing_does_not_move_the_close_bound) {
    driven_session s;
    s.start();
    s.advance_to(ms(100)); // a ping is out
    s.begin_graceful_close();
    s.advance_to(ms(130));
    s.pong();
    s.advance_to(ms(169));
    BOOST_TEST(!s.closed_by.has_value());
    s.advance_to(ms(170));
    BOOST_TEST_REQUIRE(s.closed_by.has_value());
    BOOST_TEST((*s.closed_by == action::close_timeout));
}

BOOST_AUTO_TEST_CASE(a_session_that_flushed_and_closed_schedules_nothing) {
    driven_session s;
    s.start();
    s.begin_graceful_close();
    s.advance_to(ms(10));
    s.close(std::nullopt); // flushed: the session ends on its own
    s.advance_to(ms(1000));
    BOOST_TEST(!s.closed_by.has_value());
    heartbeat beat;
    BOOST_TEST((beat.arm(timing, session_state::closed) == heartbeat::step{}));
}

BOOST_AUTO_TEST_CASE(a_deadline_that_finds_the_session_closed_schedules_nothing) {
    heartbeat beat;
    beat.arm(timing, session_state::open);
    BOOST_TEST((beat.deadline_passed(timing, session_state::closed) == heartbeat::step{}));
    beat.deadline_passed(timing, session_state::open); // the ping; now waiting for the pong
    BOOST_TEST((beat.deadline_passed(timing, session_state::closed) == heartbeat::step{}));
}

BOOST_AUTO_TEST_CASE(unsolicited_pongs_alone_keep_the_session_open_and_postpone_the_ping) {
    driven_session s;
    s.start();
    for (int t = 50; t <= 1000; t += 50) {
        s.advance_to(ms(t));
        s.pong(); // each restarts the cycle before the interval passes
    }
    BOOST_TEST(s.pings.empty());
    BOOST_TEST(!s.closed_by.has_value());
    // Then silence: one ping an interval after the last pong, and the timeout.
    s.advance_to(ms(1100));
    BOOST_TEST(s.pings == std::vector<ms>{ms(1100)});
    s.advance_to(ms(2000));
    BOOST_TEST_REQUIRE(s.closed_by.has_value());
    BOOST_TEST(s.closed_at->count() == 1140);
}
