// Private to the library: the seam between a server's protocol timers and the time they read.
//
// A server reads the steady clock and waits on steady_timers, unless a test gave it a manual clock (the
// test hooks, engineio/test_hooks.hpp): then its protocol timers (the heartbeat wheel, the upgrade
// timeout, ...) read the manual clock's time and wait on it, and the test moves the time explicitly. In
// production the seam is one null pointer per server and a branch on it where a timer is armed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace sio::detail {

/// A clock that moves only when told to, for tests. It starts at the steady clock's time of its
/// construction.
///
/// Thread safety: every function from any thread. The calls of waits (due or cancelled) are posted to the
/// executor given with them, never run inside advance() or cancel().
class manual_clock {
public:
    using clock = std::chrono::steady_clock;
    using handler = std::function<void(boost::system::error_code)>;

    manual_clock() : now_(clock::now()) {}
    manual_clock(const manual_clock&) = delete;
    manual_clock& operator=(const manual_clock&) = delete;

    clock::time_point now() const {
        const std::lock_guard lock(mutex_);
        return now_;
    }

    /// Moves the time forward by `d`; posts the calls of the waits due by then (with no error), the
    /// earliest deadline first.
    void advance(clock::duration d);

    /// Waits still pending.
    std::size_t pending() const {
        const std::lock_guard lock(mutex_);
        return waits_.size();
    }

    /// Waits armed since construction (a re-armed timer counts again).
    std::size_t armed() const {
        const std::lock_guard lock(mutex_);
        return armed_;
    }

    /// Blocks the calling thread until armed() reaches `count` (true) or `limit` of real time passed
    /// (false): how a test knows the server armed the timer it is about to make due.
    bool wait_armed(std::size_t count, clock::duration limit) const;

    /// (Library side.) `h` is posted to `ex` once the time reaches `deadline`, unless cancelled by `key`
    /// first (the key names the timer the wait stands for). The key's earlier waits are cancelled, as a
    /// steady_timer's expires_after() does.
    void wait_until(const void* key, boost::asio::any_io_executor ex, clock::time_point deadline, handler h);
    /// (Library side.) Cancels the waits of `key`: their calls are posted with operation_aborted, as a
    /// steady_timer's cancel() does.
    std::size_t cancel(const void* key);

private:
    struct wait {
        const void* key;
        boost::asio::any_io_executor executor;
        clock::time_point deadline;
        handler call;
    };
    mutable std::mutex mutex_;
    mutable std::condition_variable armed_changed_;
    clock::time_point now_;
    std::size_t armed_ = 0;
    std::vector<wait> waits_;
};

/// A one-shot wait of `after` on `timer`, or on `manual` when a test gave the server one. `h` runs on the
/// timer's executor with the error a steady_timer's wait gives (none when due, operation_aborted when
/// cancelled). With `manual`, `h` must be copyable, and the wait must be cancelled with cancel_wait before
/// the timer is destroyed (else it still runs when due).
template <class Handler>
void wait_after(manual_clock* manual, boost::asio::steady_timer& timer, std::chrono::milliseconds after,
                Handler&& h) {
    if (manual) [[unlikely]] {
        manual->wait_until(&timer, timer.get_executor(), manual->now() + after, std::forward<Handler>(h));
        return;
    }
    timer.expires_after(after);
    timer.async_wait(std::forward<Handler>(h));
}

/// Cancels the wait of wait_after.
inline void cancel_wait(manual_clock* manual, boost::asio::steady_timer& timer) {
    if (manual) [[unlikely]]
        manual->cancel(&timer);
    else
        timer.cancel();
}

/// Destroys a timer of wait_after (which cancels its wait) unless null.
inline void reset_timer(manual_clock* manual, std::unique_ptr<boost::asio::steady_timer>& timer) {
    if (manual && timer) [[unlikely]]
        manual->cancel(timer.get());
    timer.reset();
}

} // namespace sio::detail
