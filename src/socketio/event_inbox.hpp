// Private to the library: the events waiting for `socket::receive()`, and who waits for them.
#pragma once

#include <sio/socket.hpp>

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace sio::detail {

/// One socket's events no handler took, in arrival order, and the coroutines waiting (strand only).
/// Allocated by the first event kept or the first wait: a socket that never uses receive() has none.
struct event_inbox {
    struct entry {
        event ev;
        std::size_t bytes; ///< its size on the wire
    };
    std::deque<entry> events;
    std::size_t bytes = 0;
    std::size_t max_events = 1024;       ///< server_options::max_received_events
    std::size_t max_bytes = 1024 * 1024; ///< server_options::max_received_bytes
    bool full() const noexcept { return events.size() >= max_events || bytes >= max_bytes; }
    /// Below half the bound: held reading resumes.
    bool drained() const noexcept { return events.size() <= max_events / 2 && bytes <= max_bytes / 2; }
    /// Reading from the connection is held (engineio hold_reading) until the events drop below half, or
    /// until the coroutine waits for something that needs reading (see socket_impl::may_hold_reading).
    bool holding_reading = false;
    /// The receive(name) and disconnected() calls waiting now: they need the connection read (what they
    /// wait for may come after the events already waiting), so reading is not held while any waits.
    std::uint16_t reading_waits = 0;
    /// The names the waiting `receive(name)` calls want (kept even beyond the bound).
    std::vector<const std::string*> wanted;
    /// The timers of the waiting receive() / disconnected() calls (each in its coroutine's frame), which
    /// wake() cancels: every waiter then looks again.
    std::vector<boost::asio::steady_timer*> waiters;

    void wake() noexcept {
        for (auto* t : waiters)
            t->cancel();
    }

    /// A waiter's registration for the time of one wait.
    class waiting {
    public:
        waiting(event_inbox& inbox, boost::asio::steady_timer& timer) : inbox_(inbox), timer_(&timer) {
            inbox_.waiters.push_back(timer_);
        }
        ~waiting() { std::erase(inbox_.waiters, timer_); }
        waiting(const waiting&) = delete;
        waiting& operator=(const waiting&) = delete;

    private:
        event_inbox& inbox_;
        boost::asio::steady_timer* timer_;
    };
};

} // namespace sio::detail
