// Private to the library: the link of one server to Redis, shared by the Redis adapters of all its
// namespaces. It owns the two connections (commands and publications; subscriptions), opened when the
// first adapter attaches and closed when the last one detaches; it counts the subscriptions of the
// adapters (two adapters of one namespace name may live at once) and routes each incoming message to the
// newest adapter of the message's namespace. Thread-safe: every member may be called from any thread.
#pragma once

#include <sio/adapter/redis.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "connection.hpp"
#include "publication_drops.hpp"
#include "wire.hpp"

namespace sio::redis_detail {

/// What the link hands incoming messages to: one namespace's adapter.
class link_receiver {
public:
    /// A message on one of the receiver's channels (called on the subscriber connection's strand, with no
    /// lock held).
    virtual void receive(std::string_view channel, std::string_view payload) = 0;

protected:
    ~link_receiver() = default;
};

/// The connections shared by every namespace of one server, and the routing of incoming messages.
class redis_link : public std::enable_shared_from_this<redis_link> {
public:
    explicit redis_link(redis_options o) : options_(std::move(o)) {}
    ~redis_link() { close_connections(); }
    redis_link(const redis_link&) = delete;
    redis_link& operator=(const redis_link&) = delete;

    const redis_options& options() const noexcept { return options_; }
    /// The subscriber connection is up and subscribed (adapter::connected()).
    bool subscribed() const noexcept { return subscribed_.load(std::memory_order_relaxed); }

    /// The mailbox of one adapter; cleared when the adapter detaches. `anchor` keeps the adapter's
    /// namespace (and so the adapter) alive while a message is handed over without holding any lock.
    struct endpoint {
        std::mutex mutex;
        link_receiver* target = nullptr;
        std::weak_ptr<const void> anchor;
        std::string nsp;
        std::vector<std::string> channels; ///< subscribed for it
        std::vector<std::string> patterns; ///< psubscribed for it
    };

    /// Subscribes to the channels of `names` for `target` (opening the connections on `ex` for the first
    /// one); messages reach it once `anchor` is set on the endpoint returned.
    std::shared_ptr<endpoint> attach(link_receiver* target, const std::string& nsp,
                                     const channel_names& names, const boost::asio::any_io_executor& ex);
    /// No message reaches the endpoint's target once this returns (except one being handed over); its
    /// subscriptions go when no other endpoint uses them, the connections with the last endpoint.
    void detach(const std::shared_ptr<endpoint>& e);

    /// Hands a publication to the command connection. When it cannot take it (Redis down or closed:
    /// `std::errc::not_connected`; its outgoing queue full: `redis_detail::errc::queue_full`), the
    /// publication is dropped, counted and logged (at most one line a second, with the count).
    std::error_code publish(const std::string& channel, std::string payload);

    std::shared_ptr<redis_detail::command_connection> command_connection() {
        std::lock_guard lock(mutex_);
        return commands_;
    }
    std::shared_ptr<redis_detail::subscriber_connection> subscriber() {
        std::lock_guard lock(mutex_);
        return subscriber_;
    }

    using wake_channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, bool)>;
    /// How many times the subscriber reported itself up (subscriptions confirmed) so far.
    std::uint64_t ups() {
        std::lock_guard lock(mutex_);
        return ups_;
    }
    /// A channel that receives at the next report of the subscriber up after `seen` reports, or when an
    /// adapter detaches (its waiters then see it closed); null when that report already came.
    std::shared_ptr<wake_channel> wait_up(const boost::asio::any_io_executor& ex, std::uint64_t seen) {
        std::lock_guard lock(mutex_);
        if (ups_ != seen)
            return nullptr;
        auto ch = std::make_shared<wake_channel>(ex, 1);
        up_waiters_.push_back(ch);
        return ch;
    }
    /// Wakes every `wait_up` waiter; `up`: the subscriber reported itself up.
    void wake_waiters(bool up) {
        std::vector<std::shared_ptr<wake_channel>> waiters;
        {
            std::lock_guard lock(mutex_);
            if (up)
                ++ups_;
            waiters.swap(up_waiters_);
        }
        for (auto& w : waiters)
            w->try_send(boost::system::error_code{}, up);
    }

private:
    std::atomic<bool> subscribed_{false};
    void on_message(std::string_view channel, std::string_view payload);
    void open_connections(const boost::asio::any_io_executor& ex);
    void close_connections();
    /// Under mutex_: counts one more user of each name; returns the names that had none.
    static std::vector<std::string> acquire(std::map<std::string, int>& counts,
                                            const std::vector<std::string>& names);
    /// Under mutex_: counts one user less; returns the names that have none left.
    static std::vector<std::string> release(std::map<std::string, int>& counts,
                                            const std::vector<std::string>& names);

    const redis_options options_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<endpoint>> endpoints_; // oldest first
    // Two adapters of one namespace name may live at once (a dynamic child removed and created again
    // while the old one is still referenced): subscriptions are counted, not toggled.
    std::map<std::string, int> channels_;
    std::map<std::string, int> patterns_;
    std::shared_ptr<redis_detail::command_connection> commands_;
    std::shared_ptr<redis_detail::subscriber_connection> subscriber_;
    std::uint64_t ups_ = 0;                                 // under mutex_, with up_waiters_
    std::vector<std::shared_ptr<wake_channel>> up_waiters_; // adapter_ready() calls waiting for Redis
    publication_drops drops_;
};

} // namespace sio::redis_detail
