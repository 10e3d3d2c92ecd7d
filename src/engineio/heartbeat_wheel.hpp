// Private to the library: one timer for the heartbeats of every session of a server.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "../manual_clock.hpp"

namespace sio::engineio::detail {

class heartbeat_wheel;

/// What the wheel calls back: a session (or a test double).
///
/// Lifetime: a client with a deadline on a wheel is known to the wheel by address, so it must leave the
/// wheel (heartbeat_wheel::cancel) before it is destroyed; a session does it when it closes and again in
/// its destructor.
class wheel_client {
public:
    /// The strand `due` runs on.
    virtual const boost::asio::any_io_executor& strand() const noexcept = 0;
    /// On strand(): the deadline scheduled with `generation` passed. A client re-arming or cancelling bumps
    /// its generation, so it ignores calls for older ones (a call may already be posted when it re-arms).
    virtual void due(std::uint32_t generation) = 0;
    /// The client as a counted reference (its own weak_from_this()), null once it is being destroyed.
    /// Called under the wheel's mutex, which a client's cancel() takes before it goes away.
    virtual std::shared_ptr<wheel_client> lock_client() noexcept = 0;

protected:
    ~wheel_client() = default;

private:
    friend class heartbeat_wheel;
    static constexpr std::uint32_t no_slot = ~std::uint32_t{0};
    // Where the client's one entry is (guarded by the wheel's mutex).
    std::uint32_t wheel_slot_ = no_slot;
    std::uint32_t wheel_index_ = 0;
};

/// A hashed timing wheel: deadlines rounded *down* to `tick`, in `slots` buckets, driven by one steady_timer
/// that runs only while something is scheduled. An idle connection holds one small entry here instead of
/// a timer and its pending wait. A client has at most one entry: scheduling again moves it, cancel()
/// removes it, so a closed session leaves nothing behind.
///
/// Precision: a deadline fires at most one tick early and never late (beyond the executor's own delay),
/// so that chained deadlines (a ping, then its timeout) never add up past the reference's. The tick is a
/// 256th of the shortest heartbeat period (tick_for).
///
/// Time: the steady clock, or a test's manual clock (`manual`), which it then waits on instead of its timer.
///
/// Thread safety: schedule(), cancel() and stop() from any thread. Lifetime: own it with a shared_ptr
/// (the pending wait holds one); stop() before the executor's context goes away is not required.
class heartbeat_wheel : public std::enable_shared_from_this<heartbeat_wheel> {
public:
    using clock = std::chrono::steady_clock;

    /// `origin`: the instant tick 0 starts (now, unless a test controls the clock).
    heartbeat_wheel(boost::asio::any_io_executor ex, std::chrono::milliseconds tick, std::size_t slots = 1024,
                    clock::time_point origin = clock::now());
    /// On a test's manual clock: tick 0 starts at its present time.
    heartbeat_wheel(boost::asio::any_io_executor ex, std::chrono::milliseconds tick,
                    std::shared_ptr<sio::detail::manual_clock> manual);

    /// The tick for a server's heartbeat periods: a 256th of the shortest, between 1 ms and 1 s.
    static std::chrono::milliseconds tick_for(std::chrono::milliseconds shortest_period);

    /// `c->due(generation)` runs on c's strand once `after` has passed (at most one tick early), unless c
    /// is gone or cancelled by then. Replaces c's earlier deadline, if any.
    void schedule(const std::shared_ptr<wheel_client>& c, std::uint32_t generation,
                  std::chrono::milliseconds after) {
        schedule_at(c, generation, now() + after);
    }
    /// The same with an absolute deadline.
    void schedule_at(const std::shared_ptr<wheel_client>& c, std::uint32_t generation,
                     clock::time_point deadline);
    /// Removes c's deadline, if any. Calls already posted to c's strand still run (c ignores them by
    /// generation).
    void cancel(wheel_client& c) noexcept;
    /// Drops every entry and stops the timer.
    void stop();
    /// The length of a tick.
    std::chrono::milliseconds tick() const noexcept { return tick_; }
    /// Entries held.
    std::size_t size() const;

    /// Runs what the timer runs at `now`: posts the calls of the deadlines due by then. The timer calls it
    /// with the clock's time; a test calls it with a controlled one (and never runs the wheel's executor).
    void advance(clock::time_point now);
    /// The instant the timer is armed for (the start of the next tick to visit); meaningful while
    /// size() > 0.
    clock::time_point next_wake() const;
    /// The time the wheel reads: the steady clock's, or the manual clock's.
    clock::time_point now() const { return manual_ ? manual_->now() : clock::now(); }

private:
    struct entry {
        wheel_client* client; // alive: a client cancels before it is destroyed (lock_client() to hold it)
        std::uint64_t due_tick;
        std::uint32_t generation;
    };
    heartbeat_wheel(boost::asio::any_io_executor ex, std::chrono::milliseconds tick, std::size_t slots,
                    clock::time_point origin, std::shared_ptr<sio::detail::manual_clock> manual);
    std::uint64_t tick_of(clock::time_point t) const noexcept;
    clock::time_point start_of(std::uint64_t tick) const noexcept;
    void remove_locked(wheel_client& c) noexcept;
    void start_locked();

    const std::shared_ptr<sio::detail::manual_clock> manual_; // null: the steady clock
    const std::chrono::milliseconds tick_;
    const clock::time_point origin_;
    mutable std::mutex mutex_;
    std::vector<std::vector<entry>> slots_; // entry due at tick k lives in slots_[k % size]
    std::uint64_t done_tick_;               // every slot up to this tick was handled
    std::size_t count_ = 0;
    bool running_ = false;
    boost::asio::steady_timer timer_;
};

} // namespace sio::engineio::detail
