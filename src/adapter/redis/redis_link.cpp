// The link of one server to Redis (see redis_link.hpp): the shared connections, the counted
// subscriptions, the routing of incoming messages, and the accounting of dropped publications.
#include "redis_link.hpp"

#include "../../log.hpp"
#include "endpoint_of.hpp"

namespace sio::redis_detail {

namespace {

/// Closes the connections handed over by `detach` when the last endpoint left; true then.
bool close_if_last(const std::shared_ptr<command_connection>& commands,
                   const std::shared_ptr<subscriber_connection>& sub) {
    if (!commands)
        return false;
    commands->close();
    if (sub)
        sub->close();
    return true;
}

} // namespace

std::error_code redis_link::publish(const std::string& channel, std::string payload) {
    std::shared_ptr<redis_detail::command_connection> c;
    {
        std::lock_guard lock(mutex_);
        c = commands_;
    }
    std::error_code ec = make_error_code(errc::closed);
    if (c)
        ec = c->send({"PUBLISH", channel, std::move(payload)});
    if (!ec)
        return ec;
    return drops_.record("redis adapter", channel, ec);
}

std::shared_ptr<redis_link::endpoint> redis_link::attach(link_receiver* target, const std::string& nsp,
                                                         const channel_names& names,
                                                         const boost::asio::any_io_executor& ex) {
    auto e = std::make_shared<endpoint>();
    e->target = target;
    e->nsp = nsp;
    e->channels = {names.request, names.response, names.own_response};
    e->patterns = {names.broadcast + "*"};
    std::shared_ptr<subscriber_connection> sub;
    std::vector<std::string> new_channels, new_patterns;
    {
        std::lock_guard lock(mutex_);
        if (!subscriber_)
            open_connections(ex);
        endpoints_.push_back(e);
        sub = subscriber_;
        new_channels = acquire(channels_, e->channels);
        new_patterns = acquire(patterns_, e->patterns);
    }
    if (!new_patterns.empty())
        sub->psubscribe(std::move(new_patterns));
    if (!new_channels.empty())
        sub->subscribe(std::move(new_channels));
    return e;
}

std::vector<std::string> redis_link::acquire(std::map<std::string, int>& counts,
                                             const std::vector<std::string>& names) {
    std::vector<std::string> fresh;
    for (const auto& n : names)
        if (counts[n]++ == 0)
            fresh.push_back(n);
    return fresh;
}

std::vector<std::string> redis_link::release(std::map<std::string, int>& counts,
                                             const std::vector<std::string>& names) {
    std::vector<std::string> gone;
    for (const auto& n : names) {
        auto it = counts.find(n);
        if (it == counts.end())
            continue;
        if (--it->second == 0) {
            counts.erase(it);
            gone.push_back(n);
        }
    }
    return gone;
}

void redis_link::detach(const std::shared_ptr<endpoint>& e) {
    link_receiver* target = nullptr;
    {
        std::lock_guard lock(e->mutex);
        target = e->target;
        e->target = nullptr;
    }
    if (!target)
        return;
    wake_waiters(false); // an adapter_ready() of this adapter resolves (closed); the others wait again
    std::shared_ptr<subscriber_connection> sub;
    std::shared_ptr<redis_detail::command_connection> commands;
    std::vector<std::string> old_channels, old_patterns;
    {
        std::lock_guard lock(mutex_);
        std::erase(endpoints_, e);
        old_channels = release(channels_, e->channels);
        old_patterns = release(patterns_, e->patterns);
        if (endpoints_.empty()) { // the last one: the connections go (decided under the lock)
            sub = std::move(subscriber_);
            commands = std::move(commands_);
        } else {
            sub = subscriber_;
        }
    }
    if (close_if_last(commands, sub))
        return;
    if (sub && !old_patterns.empty())
        sub->punsubscribe(std::move(old_patterns));
    if (sub && !old_channels.empty())
        sub->unsubscribe(std::move(old_channels));
}

void redis_link::open_connections(const boost::asio::any_io_executor& ex) {
    // Under mutex_.
    const auto ep = endpoint_of(options_);
    commands_ = std::make_shared<redis_detail::command_connection>(ex, ep);
    std::weak_ptr<redis_link> weak = weak_from_this();
    subscriber_ = std::make_shared<subscriber_connection>(
        ex, ep,
        [weak](std::string_view channel, std::string_view payload) {
            if (auto self = weak.lock())
                self->on_message(channel, payload);
        },
        [weak, state = options_.on_subscriber_state](bool up) {
            if (auto self = weak.lock())
                self->subscribed_.store(up, std::memory_order_relaxed); // for adapter::connected()
            if (auto self = weak.lock(); self && up)
                self->wake_waiters(true);
            if (state)
                state(up);
        });
}

void redis_link::close_connections() {
    std::shared_ptr<redis_detail::command_connection> c;
    std::shared_ptr<subscriber_connection> s;
    {
        std::lock_guard lock(mutex_);
        c = std::move(commands_);
        s = std::move(subscriber_);
    }
    if (c)
        c->close();
    if (s)
        s->close();
}

void redis_link::on_message(std::string_view channel, std::string_view payload) {
    // `<key>#<nsp>#...`, `<key>-request#<nsp>#`, `<key>-response#<nsp>#...`: find the namespace.
    const auto rest = after_key(options_.key, channel);
    if (!rest)
        return;
    std::vector<std::shared_ptr<endpoint>> endpoints;
    {
        std::lock_guard lock(mutex_);
        endpoints = endpoints_;
    }
    // The newest adapter of a namespace name is the live one.
    for (auto it = endpoints.rbegin(); it != endpoints.rend(); ++it) {
        auto& e = *it;
        if (!on_namespace(*rest, e->nsp))
            continue;
        link_receiver* target = nullptr;
        std::shared_ptr<const void> anchor;
        {
            std::lock_guard lock(e->mutex);
            target = e->target;
            anchor = e->anchor.lock();
        }
        // No lock is held while the adapter works: it may run room handlers, or release the last
        // reference to a namespace whose adapter then detaches.
        if (target && anchor)
            target->receive(channel, payload);
        return;
    }
}

} // namespace sio::redis_detail
