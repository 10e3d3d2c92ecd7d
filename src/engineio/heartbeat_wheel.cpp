#include "heartbeat_wheel.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <iterator>

namespace sio::engineio::detail {

namespace net = boost::asio;

heartbeat_wheel::heartbeat_wheel(net::any_io_executor ex, std::chrono::milliseconds tick, std::size_t slots)
    : tick_(std::max(tick, std::chrono::milliseconds(1))), origin_(clock::now()),
      slots_(std::max<std::size_t>(slots, 1)), done_tick_(0), timer_(std::move(ex)) {}

std::chrono::milliseconds heartbeat_wheel::tick_for(std::chrono::milliseconds shortest_period) {
    return std::clamp(shortest_period / 32, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
}

std::uint64_t heartbeat_wheel::tick_of(clock::time_point t) const noexcept {
    if (t <= origin_)
        return 0;
    return static_cast<std::uint64_t>((t - origin_) / tick_);
}

void heartbeat_wheel::schedule(std::weak_ptr<wheel_client> c, std::uint32_t generation,
                               std::chrono::milliseconds after) {
    // Rounded up: never early. The entry is due at the first tick at or after the deadline.
    const auto deadline = clock::now() + std::max(after, std::chrono::milliseconds(0));
    std::uint64_t due = tick_of(deadline);
    if (origin_ + tick_ * static_cast<std::int64_t>(due) < deadline)
        ++due;
    const std::lock_guard lock(mutex_);
    due = std::max(due, done_tick_ + 1); // a slot already handled is not visited again
    slots_[due % slots_.size()].push_back(entry{std::move(c), due, generation});
    ++count_;
    start_locked();
}

void heartbeat_wheel::start_locked() {
    if (running_ || count_ == 0)
        return;
    running_ = true;
    timer_.expires_at(origin_ + tick_ * static_cast<std::int64_t>(done_tick_ + 1));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec)
            self->on_tick();
    });
}

void heartbeat_wheel::on_tick() {
    std::vector<entry> fired;
    {
        const std::lock_guard lock(mutex_);
        running_ = false;
        const std::uint64_t now = tick_of(clock::now());
        // Every tick since the last visit (a busy executor may have been late), each slot at most once.
        const std::uint64_t last = std::min(now, done_tick_ + slots_.size());
        for (std::uint64_t t = done_tick_ + 1; t <= last; ++t) {
            auto& slot = slots_[t % slots_.size()];
            const auto first_due =
                std::partition(slot.begin(), slot.end(), [now](const entry& e) { return e.due_tick > now; });
            std::move(first_due, slot.end(), std::back_inserter(fired));
            slot.erase(first_due, slot.end());
            if (slot.empty() && slot.capacity() > 64)
                std::vector<entry>().swap(slot); // a burst of connections does not pin its slot
        }
        done_tick_ = std::max(done_tick_, now);
        count_ -= fired.size();
        start_locked();
    }
    for (auto& e : fired) {
        if (auto c = e.client.lock()) {
            const auto& strand = c->strand();
            net::post(strand, [c = std::move(c), g = e.generation] { c->due(g); });
        }
    }
}

void heartbeat_wheel::stop() {
    const std::lock_guard lock(mutex_);
    for (auto& s : slots_)
        std::vector<entry>().swap(s);
    count_ = 0;
    timer_.cancel();
    running_ = false;
}

std::size_t heartbeat_wheel::size() const {
    const std::lock_guard lock(mutex_);
    return count_;
}

} // namespace sio::engineio::detail
