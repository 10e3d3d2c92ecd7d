#include "manual_clock.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace sio::detail {

namespace net = boost::asio;

void manual_clock::advance(clock::duration d) {
    std::vector<wait> due;
    {
        const std::lock_guard lock(mutex_);
        now_ += d;
        const auto split = std::stable_partition(waits_.begin(), waits_.end(),
                                                 [this](const wait& w) { return w.deadline > now_; });
        due.assign(std::make_move_iterator(split), std::make_move_iterator(waits_.end()));
        waits_.erase(split, waits_.end());
    }
    std::stable_sort(due.begin(), due.end(),
                     [](const wait& a, const wait& b) { return a.deadline < b.deadline; });
    for (auto& w : due)
        net::post(w.executor, [h = std::move(w.call)]() mutable { h(boost::system::error_code{}); });
}

void manual_clock::wait_until(const void* key, net::any_io_executor ex, clock::time_point deadline,
                              handler h) {
    cancel(key);
    {
        const std::lock_guard lock(mutex_);
        waits_.push_back(wait{key, std::move(ex), deadline, std::move(h)});
        ++armed_;
    }
    armed_changed_.notify_all();
}

bool manual_clock::wait_armed(std::size_t count, clock::duration limit) const {
    std::unique_lock lock(mutex_);
    return armed_changed_.wait_for(lock, limit, [&] { return armed_ >= count; });
}

std::size_t manual_clock::cancel(const void* key) {
    std::vector<wait> cancelled;
    {
        const std::lock_guard lock(mutex_);
        const auto split = std::stable_partition(waits_.begin(), waits_.end(),
                                                 [key](const wait& w) { return w.key != key; });
        cancelled.assign(std::make_move_iterator(split), std::make_move_iterator(waits_.end()));
        waits_.erase(split, waits_.end());
    }
    for (auto& w : cancelled)
        net::post(w.executor, [h = std::move(w.call)]() mutable { h(net::error::operation_aborted); });
    return cancelled.size();
}

} // namespace sio::detail
