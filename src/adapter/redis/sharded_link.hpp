// Private to the library: the link of one server to Redis for the sharded adapter, shared by the
// adapters of all its namespaces. It owns the router of its connections (shard_router.hpp: one Redis,
// or the masters of a Redis Cluster), opened when the first adapter attaches and closed when the last one
// detaches; it counts each channel's
// users (a namespace's main and response channels, its rooms' channels; two adapters of one namespace
// name may live at once), routes each incoming message to the newest adapter of its namespace, and asks
// again, with back-off, for subscriptions Redis refused. Thread-safe.
#pragma once

#include <sio/adapter/redis_sharded.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "connection.hpp"
#include "publication_drops.hpp"
#include "shard_router.hpp"

namespace sio::redis_detail {

/// What the link hands incoming messages to: one namespace's adapter.
class sharded_receiver {
public:
    /// A message on one of the receiver's channels (the subscriber's strand, no lock held).
    virtual void receive(std::string_view channel, std::string_view payload) = 0;

protected:
    ~sharded_receiver() = default;
};

class sharded_link : public std::enable_shared_from_this<sharded_link> {
public:
    explicit sharded_link(redis_sharded_options o) : options_(std::move(o)) {}
    ~sharded_link();
    sharded_link(const sharded_link&) = delete;
    sharded_link& operator=(const sharded_link&) = delete;

    const redis_sharded_options& options() const noexcept { return options_; }

    /// One adapter's mailbox; `target` is cleared when it detaches. `anchor` keeps the adapter's
    /// namespace alive while a message is handed over without any lock held.
    struct endpoint {
        std::mutex mutex;
        sharded_receiver* target = nullptr;
        std::weak_ptr<const void> anchor;
        std::string nsp;
        std::vector<std::string> channels; ///< under the link's mutex: subscribed for it
    };

    /// Subscribes to `channels` for `target` (opening the connections on `ex` for the first adapter).
    std::shared_ptr<endpoint> attach(sharded_receiver* target, const std::string& nsp,
                                     std::vector<std::string> channels,
                                     const boost::asio::any_io_executor& ex);
    /// No message reaches the endpoint once this returns (but one being handed over); its channels go
    /// when no other endpoint uses them, the connections with the last endpoint.
    void detach(const std::shared_ptr<endpoint>& e);
    /// Adds or removes one channel of a live endpoint (a room's channel).
    void add_channel(const std::shared_ptr<endpoint>& e, const std::string& channel);
    void remove_channel(const std::shared_ptr<endpoint>& e, const std::string& channel);

    /// SPUBLISH without waiting for the reply. When the connection cannot take it (down: not_connected;
    /// queue full), the publication is dropped, counted and logged (one line a second at most).
    std::error_code publish(const std::string& channel, std::string payload);

    /// The router of the connections while an adapter is attached (null otherwise).
    std::shared_ptr<shard_router> router() {
        std::lock_guard lock(mutex_);
        return router_;
    }

    /// `PUBSUB SHARDNUMSUB channel` summed over the masters; nullopt when unknown.
    boost::asio::awaitable<std::optional<std::size_t>> shard_subscribers(std::string channel);

    /// Waits until every subscription issued so far is confirmed; while Redis is unreachable, until it is
    /// back and they are. `errc::subscribe_failed` when Redis refused one (it is asked again meanwhile);
    /// `error::adapter_closed` once `e` detached.
    boost::asio::awaitable<std::error_code> ready(std::shared_ptr<endpoint> e);

    /// Subscriptions Redis refused so far (each refusal counted once per attempt).
    std::uint64_t refusals() const noexcept { return refusals_; }

private:
    void on_message(std::string_view channel, std::string_view payload);
    void on_state(bool up);
    void open_connections(const boost::asio::any_io_executor& ex);
    /// Starts the coroutine that checks the subscriptions and asks again for refused ones, unless it runs
    /// (`refused`: a refusal was seen already).
    void watch_subscriptions(bool refused);
    static boost::asio::awaitable<void> watch(std::shared_ptr<sharded_link> self, bool refused);
    /// A waiter woken at the next "subscriber up" after `seen` (null: it came already).
    struct up_waiter;
    std::shared_ptr<up_waiter> wait_up(const boost::asio::any_io_executor& ex, std::uint64_t seen);

    const redis_sharded_options options_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<endpoint>> endpoints_; // oldest first
    std::map<std::string, int> channels_;              // users of each channel
    std::shared_ptr<shard_router> router_;
    boost::asio::any_io_executor executor_;
    std::uint64_t ups_ = 0;
    std::vector<std::shared_ptr<up_waiter>> up_waiters_;
    bool watching_ = false;        // under mutex_
    bool refusal_pending_ = false; // under mutex_: a refusal the watcher has not asked again for
    std::atomic<std::uint64_t> refusals_{0};
    publication_drops drops_;
};

} // namespace sio::redis_detail
