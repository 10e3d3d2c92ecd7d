// Private to the library: a mutex in four bytes, for state every connection has (std::mutex takes 40).
#pragma once

#include <atomic>
#include <cstdint>

namespace sio::engineio::detail {

/// A lock for short critical sections with few contenders (Lockable: works with std::lock_guard). State 0
/// is free, 1 locked, 2 locked with waiters; waiters sleep in `atomic::wait` (a futex on Linux), and an
/// unlock wakes one only when some may sleep.
class small_mutex {
public:
    void lock() noexcept {
        std::uint32_t seen = 0;
        if (state_.compare_exchange_strong(seen, 1, std::memory_order_acquire, std::memory_order_relaxed))
            return;
        if (seen != 2)
            seen = state_.exchange(2, std::memory_order_acquire);
        while (seen != 0) {
            state_.wait(2, std::memory_order_relaxed);
            seen = state_.exchange(2, std::memory_order_acquire);
        }
    }
    void unlock() noexcept {
        if (state_.exchange(0, std::memory_order_release) == 2)
            state_.notify_one();
    }

private:
    std::atomic<std::uint32_t> state_{0};
};

} // namespace sio::engineio::detail
