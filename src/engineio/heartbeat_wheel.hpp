// Private to the library: one timer for the heartbeats of every session of a server.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace sio::engineio::detail {

/// What the wheel calls back: a session (or a test double).
class wheel_client {
public:
    /// The strand `due` runs on.
    virtual const boost::asio::any_io_executor& strand() const noexcept = 0;
    /// On strand(): the deadline scheduled with `generation` passed. A client re-arming or cancelling bumps
    /// its generation, so it ignores calls for older ones.
    virtual void due(std::uint32_t generation) = 0;

protected:
    ~wheel_client() = default;
};

/// A hashed timing wheel: deadlines rounded up to `tick`, in `slots` buckets, driven by one steady_timer that
/// runs only while something is scheduled. An idle connection holds one small entry here instead of a
/// timer and its pending wait. Cancelling is lazy: the client bumps its generation; the stale entry is
/// dropped when its slot comes up (the wheel keeps only weak references).
///
/// Thread safety: schedule() and stop() from any thread. Lifetime: own it with a shared_ptr (the pending
/// wait holds one); stop() before the executor's context goes away is not required.
class heartbeat_wheel : public std::enable_shared_from_this<heartbeat_wheel> {
public:
    heartbeat_wheel(boost::asio::any_io_executor ex, std::chrono::milliseconds tick,
                    std::size_t slots = 1024);

    /// The tick for a server's heartbeat periods: a 32nd of the shortest, between 1 ms and 1 s.
    static std::chrono::milliseconds tick_for(std::chrono::milliseconds shortest_period);

    /// `c->due(generation)` runs on c's strand once `after` has passed (at most one tick late), unless c
    /// is gone by then.
    void schedule(std::weak_ptr<wheel_client> c, std::uint32_t generation, std::chrono::milliseconds after);
    /// Drops every entry and stops the timer.
    void stop();
    /// Entries held (stale ones included).
    std::size_t size() const;

private:
    using clock = std::chrono::steady_clock;
    struct entry {
        std::weak_ptr<wheel_client> client;
        std::uint64_t due_tick;
        std::uint32_t generation;
    };
    std::uint64_t tick_of(clock::time_point t) const noexcept;
    void start_locked();
    void on_tick();

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
