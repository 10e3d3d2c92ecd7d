#include "heartbeat_wheel.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cassert>

namespace sio::engineio::detail {

namespace net = boost::asio;

heartbeat_wheel::heartbeat_wheel(net::any_io_executor ex, std::chrono::milliseconds tick, std::size_t slots,
                                 clock::time_point origin)
    : heartbeat_wheel(std::move(ex), tick, slots, origin, nullptr) {}

heartbeat_wheel::heartbeat_wheel(net::any_io_executor ex, std::chrono::milliseconds tick,
                                 std::shared_ptr<sio::detail::manual_clock> manual)
    : heartbeat_wheel(std::move(ex), tick, 1024, manual->now(), manual) {}

heartbeat_wheel::heartbeat_wheel(net::any_io_executor ex, std::chrono::milliseconds tick, std::size_t slots,
                                 clock::time_point origin, std::shared_ptr<sio::detail::manual_clock> manual)
    : manual_(std::move(manual)), tick_(std::max(tick, std::chrono::milliseconds(1))), origin_(origin),
      slots_(std::clamp<std::size_t>(slots, 1, wheel_client::no_slot - 1)), done_tick_(0),
      timer_(std::move(ex)) {}

std::chrono::milliseconds heartbeat_wheel::tick_for(std::chrono::milliseconds shortest_period) {
    return std::clamp(shortest_period / 256, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
}

std::uint64_t heartbeat_wheel::tick_of(clock::time_point t) const noexcept {
    if (t <= origin_)
        return 0;
    return static_cast<std::uint64_t>((t - origin_) / tick_);
}

heartbeat_wheel::clock::time_point heartbeat_wheel::start_of(std::uint64_t tick) const noexcept {
    return origin_ + tick_ * static_cast<std::int64_t>(tick);
}

void heartbeat_wheel::schedule_at(const std::shared_ptr<wheel_client>& c, std::uint32_t generation,
                                  clock::time_point deadline) {
    // Rounded down: never late. The entry is due at the tick the deadline falls in, whose start is at or
    // before the deadline; a tick already visited is not visited again, so such an entry takes the next.
    std::uint64_t due = tick_of(deadline);
    const std::lock_guard lock(mutex_);
    remove_locked(*c);
    due = std::max(due, done_tick_ + 1);
    auto& slot = slots_[due % slots_.size()];
    c->wheel_slot_ = static_cast<std::uint32_t>(due % slots_.size());
    c->wheel_index_ = static_cast<std::uint32_t>(slot.size());
    slot.push_back(entry{c.get(), due, generation});
    ++count_;
    start_locked();
}

void heartbeat_wheel::remove_locked(wheel_client& c) noexcept {
    if (c.wheel_slot_ == wheel_client::no_slot)
        return;
    auto& slot = slots_[c.wheel_slot_];
    const std::uint32_t i = c.wheel_index_;
    assert(i < slot.size() && slot[i].client == &c);
    if (i + 1 != slot.size()) {
        slot[i] = std::move(slot.back());
        slot[i].client->wheel_index_ = i;
    }
    slot.pop_back();
    c.wheel_slot_ = wheel_client::no_slot;
    --count_;
    if (slot.empty() && slot.capacity() > 64)
        std::vector<entry>().swap(slot); // a burst of connections does not pin its slot
}

void heartbeat_wheel::cancel(wheel_client& c) noexcept {
    const std::lock_guard lock(mutex_);
    remove_locked(c);
    // The timer stops by itself at its next tick when nothing is left.
}

void heartbeat_wheel::start_locked() {
    if (running_ || count_ == 0)
        return;
    running_ = true;
    auto on_wake = [self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->advance(self->now());
    };
    if (manual_) [[unlikely]] {
        manual_->wait_until(&timer_, timer_.get_executor(), start_of(done_tick_ + 1), std::move(on_wake));
        return;
    }
    timer_.expires_at(start_of(done_tick_ + 1));
    timer_.async_wait(std::move(on_wake));
}

heartbeat_wheel::clock::time_point heartbeat_wheel::next_wake() const {
    const std::lock_guard lock(mutex_);
    return start_of(done_tick_ + 1);
}

void heartbeat_wheel::advance(clock::time_point now_time) {
    struct fired_call {
        std::shared_ptr<wheel_client> client;
        std::uint32_t generation;
    };
    std::vector<fired_call> fired;
    {
        const std::lock_guard lock(mutex_);
        running_ = false;
        const std::uint64_t now = tick_of(now_time);
        // Every tick since the last visit (a busy executor may have been late), each slot at most once.
        const std::uint64_t last = std::min(now, done_tick_ + slots_.size());
        for (std::uint64_t t = done_tick_ + 1; t <= last; ++t) {
            auto& slot = slots_[t % slots_.size()];
            for (std::size_t i = 0; i < slot.size();) {
                entry& e = slot[i];
                if (e.due_tick > now) {
                    ++i; // a later turn of the wheel
                    continue;
                }
                // Under the mutex, so a client being destroyed waits in cancel() and the lock fails.
                if (auto c = e.client->lock_client())
                    fired.push_back({std::move(c), e.generation});
                e.client->wheel_slot_ = wheel_client::no_slot;
                if (i + 1 != slot.size()) {
                    e = std::move(slot.back());
                    e.client->wheel_index_ = static_cast<std::uint32_t>(i);
                }
                slot.pop_back();
                --count_;
            }
            if (slot.empty() && slot.capacity() > 64)
                std::vector<entry>().swap(slot);
        }
        done_tick_ = std::max(done_tick_, now);
        start_locked();
    }
    for (auto& f : fired) {
        const auto& strand = f.client->strand();
        net::post(strand, [c = std::move(f.client), g = f.generation] { c->due(g); });
    }
}

void heartbeat_wheel::stop() {
    const std::lock_guard lock(mutex_);
    for (auto& s : slots_) {
        for (auto& e : s)
            e.client->wheel_slot_ = wheel_client::no_slot;
        std::vector<entry>().swap(s);
    }
    count_ = 0;
    sio::detail::cancel_wait(manual_.get(), timer_);
    running_ = false;
}

std::size_t heartbeat_wheel::size() const {
    const std::lock_guard lock(mutex_);
    return count_;
}

} // namespace sio::engineio::detail
