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

void abandonable::enroll(const std::shared_ptr<abandonable>& self) {
    service_.add(this, self);
}

void teardown_service::add(abandonable* key, std::weak_ptr<abandonable> obj) {
    std::lock_guard lock(mutex_);
    objects_.emplace(key, std::move(obj));
}

void teardown_service::remove(abandonable* key) noexcept {
    std::lock_guard lock(mutex_);
    objects_.erase(key);
}

void teardown_service::shutdown() {
    std::vector<std::shared_ptr<abandonable>> alive;
    {
        std::lock_guard lock(mutex_);
        alive.reserve(objects_.size());
        for (auto& [key, weak] : objects_)
            if (auto obj = weak.lock())
                alive.push_back(std::move(obj));
    }
    // Outside the lock: abandoning releases objects whose destructors deregister.
    for (auto& obj : alive)
        obj->abandon();
    alive.clear();
}

} // namespace sio::engineio::detail
