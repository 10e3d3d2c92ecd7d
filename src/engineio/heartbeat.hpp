// Private to the library: the Engine.IO heartbeat of one session, as a state machine without I/O.
#pragma once

#include <chrono>
#include <cstdint>

namespace sio::engineio::detail {

/// Where a session is in its life.
enum class session_state : std::uint8_t {
    open,    ///< packets flow
    closing, ///< a graceful close waits for the queue to be written
    closed,  ///< ended
};

/// The server side of the Engine.IO heartbeat: the server pings every `ping_interval`; without a pong
/// within `ping_timeout` of the ping the session ends ("ping timeout"). While a graceful close waits for
/// its flush, the one deadline bounds that wait instead (`close_timeout`).
///
/// No I/O and no clock: each call says what the session does next, as a `step` — schedule a deadline
/// `after` from now (and write a ping first), or close. One deadline at a time: each scheduled deadline
/// replaces the last, and is named by generation(); when a deadline passes the session calls
/// deadline_passed() only if it is_current(), so a deadline replaced or cancelled meanwhile is ignored.
///
/// Not thread-safe: the session calls it on its strand.
class heartbeat {
public:
    struct timing {
        std::chrono::milliseconds ping_interval;
        std::chrono::milliseconds ping_timeout;
        std::chrono::milliseconds close_timeout; ///< a graceful close's bound
    };
    enum class action : std::uint8_t {
        none,               ///< nothing is scheduled
        wait,               ///< schedule a deadline `after` from now, named generation()
        ping_and_wait,      ///< write a ping, then as `wait`
        close_ping_timeout, ///< end the session: no pong came in time
        close_timeout,      ///< end the session: the graceful close did not flush in time
    };
    struct step {
        action what = action::none;
        std::chrono::milliseconds after{};
        friend bool operator==(const step&, const step&) = default;
    };

    /// Starts a cycle for a session in state `s`: the ping interval while open, the close bound while
    /// closing, nothing once closed.
    step arm(const timing& t, session_state s) noexcept {
        switch (s) {
        case session_state::closed:
            return {};
        case session_state::closing:
            return schedule(phase::closing, t.close_timeout, action::wait);
        case session_state::open:
            break;
        }
        pong_pending_ = false;
        if (client_pings_) // Engine.IO v3: the client's next ping is due within interval + timeout
            return schedule(phase::timeout, t.ping_interval + t.ping_timeout, action::wait);
        return schedule(phase::interval, t.ping_interval, action::wait);
    }

    /// The Engine.IO v3 direction: the client pings, the server answers and never pings; a session whose
    /// client sends no ping within ping_interval + ping_timeout of the last (or of the open) ends with
    /// "ping timeout". From then on, pong_received() is what the session calls on a client's ping.
    void set_client_pings() noexcept { client_pings_ = true; }

    /// A pong arrived (v3: a ping): an open session starts a new cycle.
    step pong_received(const timing& t, session_state s) noexcept {
        pong_pending_ = true;
        if (s != session_state::open)
            return {};
        return arm(t, s);
    }

    /// The deadline named generation() passed.
    step deadline_passed(const timing& t, session_state s) noexcept {
        switch (phase_) {
        case phase::closing:
            if (s == session_state::closing)
                return {action::close_timeout, {}};
            break;
        case phase::interval:
            if (s == session_state::open && !pong_pending_)
                return schedule(phase::timeout, t.ping_timeout, action::ping_and_wait);
            break;
        case phase::timeout:
            if (s == session_state::open && !pong_pending_)
                return {action::close_ping_timeout, {}};
            break;
        }
        return arm(t, s);
    }

    /// The server pinged and no pong came since (Engine.IO 4): a pong now answers that ping.
    bool awaiting_pong() const noexcept { return phase_ == phase::timeout && !client_pings_; }

    /// Forgets the scheduled deadline: once it passes, it is not current.
    void cancel() noexcept { ++generation_; }

    /// The name of the deadline scheduled last.
    std::uint32_t generation() const noexcept { return generation_; }
    bool is_current(std::uint32_t generation) const noexcept { return generation == generation_; }

private:
    enum class phase : std::uint8_t { interval, timeout, closing };
    step schedule(phase p, std::chrono::milliseconds after, action a) noexcept {
        phase_ = p;
        ++generation_;
        return {a, after};
    }

    std::uint32_t generation_ = 0;
    phase phase_ = phase::interval;
    bool pong_pending_ = false; ///< a pong arrived: the cycle restarts rather than pinging or timing out
    bool client_pings_ = false; ///< Engine.IO v3: no server ping, the client's pings reset the deadline
};

} // namespace sio::engineio::detail
