#include "teardown.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

#include <vector>

namespace sio::engineio::detail {

namespace net = boost::asio;

abandonable::abandonable(const net::any_io_executor& ex)
    : service_(net::use_service<teardown_service>(net::query(ex, net::execution::context))) {}

abandonable::~abandonable() {
    service_.remove(this);
}

void abandonable::enroll(lock_function lock) {
    lock_ = lock; // before it is listed: the service reads it under its lock
    service_.add(this);
}

void teardown_service::add(abandonable* obj) {
    std::lock_guard lock(mutex_);
    obj->prev_ = nullptr;
    obj->next_ = head_;
    if (head_)
        head_->prev_ = obj;
    head_ = obj;
}

void teardown_service::remove(abandonable* obj) noexcept {
    std::lock_guard lock(mutex_);
    if (!obj->prev_ && head_ != obj)
        return; // never enrolled (or already removed)
    if (obj->prev_)
        obj->prev_->next_ = obj->next_;
    else
        head_ = obj->next_;
    if (obj->next_)
        obj->next_->prev_ = obj->prev_;
    obj->prev_ = obj->next_ = nullptr;
}

void teardown_service::shutdown() {
    std::vector<std::shared_ptr<abandonable>> alive;
    {
        std::lock_guard lock(mutex_);
        for (auto* obj = head_; obj; obj = obj->next_)
            if (auto locked = obj->lock_(obj)) // null once its destructor may have started
                alive.push_back(std::move(locked));
    }
    // Outside the lock: abandoning releases objects whose destructors deregister.
    for (auto& obj : alive)
        obj->abandon();
    alive.clear();
}

} // namespace sio::engineio::detail
