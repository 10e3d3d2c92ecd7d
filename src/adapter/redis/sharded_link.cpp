// The sharded adapter's link to Redis (see sharded_link.hpp): the shared connections, the counted
// channels, the routing of incoming messages, refused subscriptions asked again, dropped publications.
#include "sharded_link.hpp"

#include <sio/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "../../log.hpp"
#include "endpoint_of.hpp"
#include "wire.hpp"

namespace sio::redis_detail {

namespace net = boost::asio;

struct sharded_link::up_waiter
    : net::experimental::concurrent_channel<void(boost::system::error_code, bool)> {
    using base = net::experimental::concurrent_channel<void(boost::system::error_code, bool)>;
    using base::base;
};

sharded_link::~sharded_link() {
    if (router_)
        router_->close();
}

void sharded_link::open_connections(const net::any_io_executor& ex) {
    // Under mutex_.
    const auto ep = endpoint_of(options_.connection, false);
    executor_ = ex;
    std::vector<cluster_node> seeds{{options_.connection.host, options_.connection.port}};
    for (const auto& s : options_.cluster_seeds)
        seeds.push_back({s.host, s.port});
    std::weak_ptr<sharded_link> weak = weak_from_this();
    router_ = std::make_shared<shard_router>(
        ex, ep, std::move(seeds),
        [weak](std::string_view channel, std::string_view payload) {
            if (auto self = weak.lock())
                self->on_message(channel, payload);
        },
        [weak](bool up) {
            if (auto self = weak.lock())
                self->on_state(up);
        },
        [weak](const std::string& channel, std::error_code why) {
            if (auto self = weak.lock())
                (void)self->drops_.record("sharded redis adapter", channel, why);
        });
    router_->start();
}

net::awaitable<std::optional<std::size_t>> sharded_link::shard_subscribers(std::string channel) {
    auto r = router();
    if (!r)
        co_return std::nullopt;
    co_return co_await r->shard_subscribers(std::move(channel));
}

void sharded_link::on_state(bool up) {
    std::vector<std::shared_ptr<up_waiter>> waiters;
    {
        std::lock_guard lock(mutex_);
        if (up)
            ++ups_;
        waiters.swap(up_waiters_);
    }
    for (auto& w : waiters)
        w->try_send(boost::system::error_code{}, up);
    if (const auto& report = options_.connection.on_subscriber_state)
        report(up);
}

std::shared_ptr<sharded_link::up_waiter> sharded_link::wait_up(const net::any_io_executor& ex,
                                                               std::uint64_t seen) {
    std::lock_guard lock(mutex_);
    if (ups_ != seen)
        return nullptr;
    auto w = std::make_shared<up_waiter>(ex, 1);
    up_waiters_.push_back(w);
    return w;
}

std::shared_ptr<sharded_link::endpoint> sharded_link::attach(sharded_receiver* target, const std::string& nsp,
                                                             std::vector<std::string> channels,
                                                             const net::any_io_executor& ex) {
    auto e = std::make_shared<endpoint>();
    e->target = target;
    e->nsp = nsp;
    std::vector<std::string> fresh;
    std::lock_guard lock(mutex_); // the router is told in the order of the counts' changes
    if (!router_)
        open_connections(ex);
    endpoints_.push_back(e);
    for (auto& c : channels)
        if (channels_[c]++ == 0)
            fresh.push_back(c);
    e->channels = std::move(channels);
    if (!fresh.empty())
        router_->subscribe(fresh);
    return e;
}

// The router is told under mutex_: SSUBSCRIBE and SUNSUBSCRIBE of one channel reach Redis in the order
// of the counts' changes (a subscription asked again by the watcher cannot overtake a removal).
void sharded_link::add_channel(const std::shared_ptr<endpoint>& e, const std::string& channel) {
    {
        std::lock_guard lock(mutex_);
        if (!router_ || std::find(endpoints_.begin(), endpoints_.end(), e) == endpoints_.end())
            return; // detached
        e->channels.push_back(channel);
        if (channels_[channel]++ != 0)
            return;
        router_->subscribe({channel});
    }
    watch_subscriptions(false);
}

void sharded_link::remove_channel(const std::shared_ptr<endpoint>& e, const std::string& channel) {
    std::lock_guard lock(mutex_);
    if (!router_ || std::find(endpoints_.begin(), endpoints_.end(), e) == endpoints_.end())
        return;
    const auto it = std::find(e->channels.begin(), e->channels.end(), channel);
    if (it == e->channels.end())
        return;
    e->channels.erase(it);
    const auto c = channels_.find(channel);
    if (c == channels_.end() || --c->second != 0)
        return;
    channels_.erase(c);
    router_->unsubscribe({channel});
}

void sharded_link::detach(const std::shared_ptr<endpoint>& e) {
    {
        std::lock_guard lock(e->mutex);
        if (!e->target)
            return;
        e->target = nullptr;
    }
    std::shared_ptr<shard_router> last;
    std::vector<std::shared_ptr<up_waiter>> waiters;
    {
        std::lock_guard lock(mutex_);
        std::erase(endpoints_, e);
        std::vector<std::string> gone;
        for (const auto& c : e->channels) {
            const auto it = channels_.find(c);
            if (it != channels_.end() && --it->second == 0) {
                channels_.erase(it);
                gone.push_back(c);
            }
        }
        e->channels.clear();
        waiters.swap(up_waiters_); // a ready() of this endpoint resolves; the others wait again
        if (endpoints_.empty())
            last = std::move(router_);
        else if (router_ && !gone.empty())
            router_->unsubscribe(gone);
    }
    for (auto& w : waiters)
        w->try_send(boost::system::error_code{}, false);
    if (last)
        last->close();
}

std::error_code sharded_link::publish(const std::string& channel, std::string payload) {
    auto r = router();
    std::error_code ec = make_error_code(errc::closed);
    if (r)
        ec = r->publish(channel, std::move(payload));
    if (!ec)
        return ec;
    return drops_.record("sharded redis adapter", channel, ec);
}

void sharded_link::on_message(std::string_view channel, std::string_view payload) {
    // `<prefix>#<nsp>#...`: find the namespace.
    const std::string& prefix = options_.channel_prefix;
    if (channel.size() <= prefix.size() || !channel.starts_with(prefix) || channel[prefix.size()] != '#')
        return;
    const auto rest = channel.substr(prefix.size() + 1);
    std::vector<std::shared_ptr<endpoint>> endpoints;
    {
        std::lock_guard lock(mutex_);
        endpoints = endpoints_;
    }
    for (auto it = endpoints.rbegin(); it != endpoints.rend(); ++it) { // the newest is the live one
        auto& e = *it;
        if (!on_namespace(rest, e->nsp))
            continue;
        sharded_receiver* target = nullptr;
        std::shared_ptr<const void> anchor;
        {
            std::lock_guard lock(e->mutex);
            target = e->target;
            anchor = e->anchor.lock();
        }
        if (target && anchor)
            target->receive(channel, payload);
        return;
    }
}

net::awaitable<std::error_code> sharded_link::ready(std::shared_ptr<endpoint> e) {
    const auto ex = co_await net::this_coro::executor;
    for (;;) {
        {
            std::lock_guard lock(e->mutex);
            if (!e->target)
                co_return make_error_code(error::adapter_closed);
        }
        std::uint64_t seen = 0;
        {
            std::lock_guard lock(mutex_);
            seen = ups_;
        }
        auto r = router();
        if (!r)
            co_return make_error_code(error::adapter_closed);
        const std::error_code ec = co_await r->synced();
        if (!ec)
            co_return ec;
        if (ec == errc::subscribe_failed) {
            ++refusals_;
            watch_subscriptions(true);
            co_return ec;
        }
        if ((co_await net::this_coro::cancellation_state).cancelled() != net::cancellation_type::none)
            co_return std::error_code(boost::system::error_code(net::error::operation_aborted));
        if (auto w = wait_up(ex, seen)) {
            auto [wec, up] = co_await w->async_receive(net::as_tuple(net::use_awaitable));
            if (wec)
                co_return std::error_code(wec);
        }
    }
}

void sharded_link::watch_subscriptions(bool refused) {
    net::any_io_executor ex;
    {
        std::lock_guard lock(mutex_);
        if (refused)
            refusal_pending_ = true; // a running watcher asks again before it ends
        if (watching_ || !router_)
            return;
        watching_ = true;
        ex = executor_;
    }
    net::co_spawn(ex, watch(shared_from_this(), refused), net::detached);
}

// Checks that the subscriptions issued so far are confirmed; while Redis refuses some (`refused`: it
// did already), asks again for every channel in use after a back-off delay (doubling up to
// reconnect_max). Ends once all are confirmed, or when the link closes.
net::awaitable<void> sharded_link::watch(std::shared_ptr<sharded_link> self, bool refused) {
    const auto ex = co_await net::this_coro::executor;
    auto delay = std::max(self->options_.connection.reconnect_min, std::chrono::milliseconds(1));
    const auto cap = std::max(self->options_.connection.reconnect_max, delay);
    net::steady_timer timer(ex);
    bool retry = refused;
    // Ends the watch, unless a refusal was reported meanwhile (by a ready() call): then true.
    auto stop = [&self] {
        std::lock_guard lock(self->mutex_);
        if (std::exchange(self->refusal_pending_, false))
            return false;
        self->watching_ = false;
        return true;
    };
    for (;;) {
        if (retry) {
            SIO_LOG(adapter, warning, "sharded redis adapter: Redis refused a subscription (",
                    self->refusals_.load(), " refusals so far); asking again in ", delay.count(), " ms");
            timer.expires_after(delay);
            co_await timer.async_wait(net::as_tuple(net::use_awaitable));
            delay = std::min(delay * 2, cap);
        }
        std::shared_ptr<shard_router> router;
        std::uint64_t seen = 0;
        {
            std::lock_guard lock(self->mutex_);
            router = self->router_;
            seen = self->ups_;
            if (retry)
                self->refusal_pending_ = false; // this attempt covers it
            if (!router || self->endpoints_.empty()) {
                self->watching_ = false;
                co_return;
            }
            if (retry)
                router->resubscribe(); // under the lock: ordered with removals
        }
        const std::error_code ec = co_await router->synced();
        if (ec == errc::closed) {
            std::lock_guard lock(self->mutex_);
            self->watching_ = false;
            self->refusal_pending_ = false;
            co_return;
        }
        if (!ec) {
            if (stop())
                co_return;
            retry = true;
            continue;
        }
        if (ec == errc::subscribe_failed) {
            ++self->refusals_;
            retry = true;
            continue;
        }
        // Down: the reconnection subscribes again to what was not refused; then ask for all.
        if (auto w = self->wait_up(ex, seen))
            (void)co_await w->async_receive(net::as_tuple(net::use_awaitable));
        retry = true;
    }
}

} // namespace sio::redis_detail
