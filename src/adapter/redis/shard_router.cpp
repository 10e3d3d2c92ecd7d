// Sharded pub/sub routed by slot (see shard_router.hpp): the nodes and their connections, the placement
// of each channel, the slot map read again with back-off, redirected publications.
#include "shard_router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "../../log.hpp"

namespace sio::redis_detail {

namespace net = boost::asio;

struct shard_router::node {
    cluster_node name;
    std::shared_ptr<command_connection> commands;
    std::shared_ptr<subscriber_connection> subscriber;
    std::set<std::string> channels; ///< placed on this node
};

struct shard_router::settle_waiter : net::experimental::concurrent_channel<void(boost::system::error_code)> {
    using base = net::experimental::concurrent_channel<void(boost::system::error_code)>;
    using base::base;
};

struct shard_router::wake_channel : net::experimental::concurrent_channel<void(boost::system::error_code)> {
    using base = net::experimental::concurrent_channel<void(boost::system::error_code)>;
    using base::base;
};

namespace {

// Outside the coroutines: GCC 12 miscompiles braced initialisers with literals inside them.
std::vector<std::string> slots_command() {
    return {"CLUSTER", "SLOTS"};
}
std::vector<std::string> numsub_command(const std::string& channel) {
    return {"PUBSUB", "SHARDNUMSUB", channel};
}

} // namespace

shard_router::shard_router(net::any_io_executor ex, endpoint ep, std::vector<cluster_node> seeds,
                           message_handler on_message, state_handler on_state, drop_handler on_drop)
    : executor_(std::move(ex)), ep_(std::move(ep)), seeds_(std::move(seeds)),
      on_message_(std::move(on_message)), on_state_(std::move(on_state)), on_drop_(std::move(on_drop)),
      wake_(std::make_shared<wake_channel>(executor_, 1)) {}

shard_router::~shard_router() {
    close();
}

void shard_router::start() {
    {
        std::lock_guard lock(mutex_);
        refresh_wanted_ = true;
        refreshing_ = true;
        (void)node_of(seeds_.front()); // everything goes there until the slot map is known
    }
    wake_->try_send(boost::system::error_code{});
    net::co_spawn(executor_, maintain(shared_from_this()), net::detached);
}

void shard_router::close() {
    std::map<std::string, std::shared_ptr<node>> nodes;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        closed_ = true;
        nodes.swap(nodes_);
    }
    for (auto& [address, n] : nodes) {
        if (n->commands)
            n->commands->close();
        if (n->subscriber)
            n->subscriber->close();
    }
    wake_->close();
    wake_settled();
}

std::shared_ptr<shard_router::node> shard_router::node_of(const cluster_node& n) {
    auto& slot = nodes_[n.address()];
    if (!slot) {
        slot = std::make_shared<node>();
        slot->name = n;
    }
    return slot;
}

cluster_node shard_router::route(const std::string& channel) {
    if (mode_ == mode::cluster && topology_) {
        if (const auto* owner = topology_->owner(key_slot(channel)))
            return *owner;
        const auto placed = channels_.find(channel); // a slot nobody serves: stay put until it is
        if (placed != channels_.end())
            if (const auto n = nodes_.find(placed->second); n != nodes_.end())
                return n->second->name;
    }
    return seeds_.front();
}

void shard_router::ensure_subscriber(node& n) {
    if (n.subscriber)
        return;
    endpoint e = ep_;
    e.host = n.name.host;
    e.port = n.name.port;
    std::weak_ptr<shard_router> weak = weak_from_this();
    n.subscriber = std::make_shared<subscriber_connection>(
        executor_, std::move(e),
        [weak](std::string_view channel, std::string_view payload) {
            if (auto self = weak.lock())
                self->on_message_(channel, payload);
        },
        [weak](bool up) {
            if (auto self = weak.lock())
                self->on_node_state(up);
        },
        [weak](std::vector<std::string> channels) {
            if (auto self = weak.lock())
                self->on_lost(std::move(channels));
        });
}

std::shared_ptr<command_connection> shard_router::commands_of(node& n) {
    if (!n.commands) {
        endpoint e = ep_;
        e.host = n.name.host;
        e.port = n.name.port;
        n.commands = std::make_shared<command_connection>(executor_, std::move(e));
    }
    return n.commands;
}

void shard_router::subscribe(const std::vector<std::string>& channels) {
    std::lock_guard lock(mutex_);
    if (closed_)
        return;
    for (const auto& c : channels) {
        const auto to = route(c);
        auto n = node_of(to);
        if (const auto placed = channels_.find(c);
            placed != channels_.end() && placed->second != to.address())
            if (const auto old = nodes_.find(placed->second); old != nodes_.end())
                old->second->channels.erase(c);
        channels_[c] = to.address();
        n->channels.insert(c);
        ensure_subscriber(*n);
        n->subscriber->ssubscribe({c});
    }
    ++generation_;
}

void shard_router::unsubscribe(const std::vector<std::string>& channels) {
    std::lock_guard lock(mutex_);
    if (closed_)
        return;
    for (const auto& c : channels) {
        lost_.erase(c);
        const auto placed = channels_.find(c);
        if (placed == channels_.end())
            continue;
        if (const auto n = nodes_.find(placed->second); n != nodes_.end()) {
            n->second->channels.erase(c);
            if (n->second->subscriber)
                n->second->subscriber->sunsubscribe({c});
        }
        channels_.erase(placed);
    }
    ++generation_;
}

void shard_router::resubscribe() {
    bool refresh = false;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        if (mode_ == mode::standalone) {
            for (auto& [address, n] : nodes_)
                if (n->subscriber && !n->channels.empty())
                    n->subscriber->ssubscribe(
                        std::vector<std::string>(n->channels.begin(), n->channels.end()));
        } else {
            for (const auto& [c, address] : channels_)
                lost_.insert(c);
            ++generation_;
            refresh = true;
        }
    }
    if (refresh)
        want_refresh();
}

std::error_code shard_router::publish(const std::string& channel, std::string payload) {
    std::shared_ptr<command_connection> commands;
    mode m = mode::probing;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return make_error_code(errc::closed);
        m = mode_;
        commands = commands_of(*node_of(route(channel)));
    }
    if (m == mode::standalone)
        return commands->send({"SPUBLISH", channel, std::move(payload)});
    // A cluster (or not known yet): the node may redirect it.
    auto copy = std::make_shared<std::string>(payload);
    std::weak_ptr<shard_router> weak = weak_from_this();
    commands->command({"SPUBLISH", channel, std::move(payload)},
                      [weak, channel, copy](std::error_code ec, reply r) {
                          auto self = weak.lock();
                          if (!self)
                              return;
                          if (ec) {
                              self->on_drop_(channel, ec);
                              return;
                          }
                          if (r.type != reply::kind::error)
                              return;
                          if (auto to = parse_redirect(r.str, self->seeds_.front().host)) {
                              const bool ask = to->type == cluster_redirect::kind::ask;
                              if (!ask)
                                  self->want_refresh();
                              self->publish_to(to->to, channel, std::move(*copy), ask);
                              return;
                          }
                          if (is_cluster_unavailable(r.str))
                              self->want_refresh();
                          self->on_drop_(channel, make_error_code(errc::protocol_error));
                      });
    return {};
}

void shard_router::publish_to(const cluster_node& to, const std::string& channel, std::string payload,
                              bool asking) {
    std::shared_ptr<command_connection> commands;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        commands = commands_of(*node_of(to));
    }
    if (asking)
        (void)commands->send({"ASKING"});
    std::weak_ptr<shard_router> weak = weak_from_this();
    commands->command({"SPUBLISH", channel, std::move(payload)},
                      [weak, channel](std::error_code ec, reply r) {
                          auto self = weak.lock();
                          if (!self || (!ec && r.type != reply::kind::error))
                              return;
                          if (!ec && (parse_redirect(r.str, {}) || is_cluster_unavailable(r.str)))
                              self->want_refresh(); // redirected twice: dropped, and the map read again
                          self->on_drop_(channel, ec ? ec : make_error_code(errc::protocol_error));
                      });
}

net::awaitable<std::optional<std::size_t>> shard_router::shard_subscribers(std::string channel) {
    std::vector<std::shared_ptr<command_connection>> masters;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            co_return std::nullopt;
        if (mode_ == mode::cluster && topology_)
            for (const auto& m : topology_->masters())
                masters.push_back(commands_of(*node_of(m)));
        else
            masters.push_back(commands_of(*node_of(seeds_.front())));
    }
    std::size_t sum = 0;
    for (auto& c : masters) {
        auto [ec, r] = co_await c->command(numsub_command(channel));
        if (ec || r.type != reply::kind::array || r.elements.size() < 2 ||
            r.elements[1].type != reply::kind::integer)
            co_return std::nullopt;
        sum += static_cast<std::size_t>(std::clamp<std::int64_t>(r.elements[1].integer, 0, 1 << 20));
    }
    co_return sum;
}

bool shard_router::settled() const {
    return closed_ || (!refresh_wanted_ && !refreshing_ && lost_.empty());
}

bool shard_router::nodes_in_use_up() const {
    return std::all_of(nodes_.begin(), nodes_.end(), [](const auto& kv) {
        return kv.second->channels.empty() || (kv.second->subscriber && kv.second->subscriber->connected());
    });
}

void shard_router::wake_settled() {
    std::vector<std::shared_ptr<settle_waiter>> waiters;
    {
        std::lock_guard lock(mutex_);
        if (!settled())
            return;
        waiters.swap(settle_waiters_);
    }
    for (auto& w : waiters)
        w->try_send(boost::system::error_code{});
}

net::awaitable<std::error_code> shard_router::synced() {
    const auto ex = co_await net::this_coro::executor;
    for (;;) {
        std::shared_ptr<settle_waiter> wait;
        std::vector<std::shared_ptr<subscriber_connection>> subscribers;
        std::uint64_t generation = 0;
        {
            std::lock_guard lock(mutex_);
            if (closed_)
                co_return make_error_code(errc::closed);
            if (!settled()) {
                wait = std::make_shared<settle_waiter>(ex, 1);
                settle_waiters_.push_back(wait);
            } else {
                for (const auto& [address, n] : nodes_)
                    if (n->subscriber && !n->channels.empty())
                        subscribers.push_back(n->subscriber);
                generation = generation_;
            }
        }
        if (wait) {
            auto [ec] = co_await wait->async_receive(net::as_tuple(net::use_awaitable));
            if (ec)
                co_return std::error_code(ec);
            continue;
        }
        std::error_code first;
        for (auto& s : subscribers)
            if (auto ec = co_await s->synced(); ec && !first)
                first = ec;
        if (first)
            co_return first;
        std::lock_guard lock(mutex_);
        if (settled() && generation == generation_)
            co_return std::error_code{};
    }
}

void shard_router::want_refresh() {
    {
        std::lock_guard lock(mutex_);
        if (closed_ || mode_ == mode::standalone)
            return;
        refresh_wanted_ = true;
    }
    wake_->try_send(boost::system::error_code{});
}

void shard_router::on_lost(std::vector<std::string> channels) {
    {
        std::lock_guard lock(mutex_);
        for (auto& c : channels)
            if (channels_.contains(c))
                lost_.insert(std::move(c));
        ++generation_;
    }
    want_refresh();
}

void shard_router::on_node_state(bool up) {
    if (on_state_)
        on_state_(up);
    if (!up)
        want_refresh();
}

void shard_router::apply(cluster_topology t) {
    topology_ = std::move(t);
    mode_ = mode::cluster;
    for (auto& [c, address] : channels_) {
        const auto* owner = topology_->owner(key_slot(c));
        if (!owner || owner->address() == address)
            continue;
        if (const auto old = nodes_.find(address); old != nodes_.end()) {
            old->second->channels.erase(c);
            if (old->second->subscriber)
                old->second->subscriber->sunsubscribe({c});
        }
        address = owner->address();
        node_of(*owner)->channels.insert(c);
        lost_.insert(c);
    }
    for (auto it = lost_.begin(); it != lost_.end();) {
        const auto placed = channels_.find(*it);
        const auto n = placed == channels_.end() ? nodes_.end() : nodes_.find(placed->second);
        if (n == nodes_.end()) {
            it = lost_.erase(it);
            continue;
        }
        if (!topology_->owner(key_slot(*it))) { // nobody serves it yet: asked again later
            ++it;
            continue;
        }
        ensure_subscriber(*n->second);
        n->second->subscriber->ssubscribe({*it});
        it = lost_.erase(it);
    }
    // Connections of nodes that serve none of our channels go (a master demoted, a node removed).
    const auto& masters = topology_->masters();
    for (auto it = nodes_.begin(); it != nodes_.end();) {
        auto& n = *it->second;
        if (!n.channels.empty()) {
            ++it;
            continue;
        }
        if (n.subscriber) {
            n.subscriber->close();
            n.subscriber.reset();
        }
        const bool master = std::find(masters.begin(), masters.end(), n.name) != masters.end();
        const bool seed = std::find(seeds_.begin(), seeds_.end(), n.name) != seeds_.end();
        if (!master && !seed) {
            if (n.commands)
                n.commands->close();
            it = nodes_.erase(it);
            continue;
        }
        ++it;
    }
    ++generation_;
}

namespace {
/// A node still loading its data set answers `-LOADING`: asked again later, like a cluster that is down.
bool starts_with_loading(std::string_view error) noexcept {
    return error.substr(0, 7) == "LOADING";
}
} // namespace

net::awaitable<std::pair<shard_router::fetched, std::optional<cluster_topology>>> shard_router::fetch() {
    std::vector<cluster_node> candidates;
    {
        std::lock_guard lock(mutex_);
        if (topology_)
            candidates = topology_->masters();
        for (const auto& s : seeds_)
            if (std::find(candidates.begin(), candidates.end(), s) == candidates.end())
                candidates.push_back(s);
    }
    for (const auto& c : candidates) {
        std::shared_ptr<command_connection> commands;
        {
            std::lock_guard lock(mutex_);
            if (closed_)
                co_return std::pair{fetched::failed, std::optional<cluster_topology>{}};
            commands = commands_of(*node_of(c));
        }
        auto [ec, r] = co_await commands->command(slots_command());
        if (ec)
            continue;
        if (r.type == reply::kind::error) {
            if (is_cluster_disabled(r.str))
                co_return std::pair{fetched::standalone, std::optional<cluster_topology>{}};
            if (!is_cluster_unavailable(r.str) && !starts_with_loading(r.str)) {
                // Not a cluster that is down: CLUSTER refused (an ACL without it, a renamed command, a
                // proxy). Like Node's adapter, which never asks: the node is the only one.
                SIO_LOG(adapter, warning, "sharded redis adapter: ", c.address(), " refused CLUSTER SLOTS (",
                        r.str, "): used as a standalone node");
                co_return std::pair{fetched::standalone, std::optional<cluster_topology>{}};
            }
            continue;
        }
        auto t = cluster_topology::from_slots_reply(r, c.host);
        if (t && !t->masters().empty())
            co_return std::pair{fetched::topology, std::move(t)};
        if (!t)
            SIO_LOG(adapter, warning, "sharded redis adapter: ", c.address(),
                    " answered CLUSTER SLOTS with a reply that is not a slot map");
    }
    co_return std::pair{fetched::failed, std::optional<cluster_topology>{}};
}

// Reads the slot map when asked to (a redirection, a lost subscription or connection), again with back-off
// until the map covers every slot and every node in use is reachable; then waits for the next request.
net::awaitable<void> shard_router::maintain(std::shared_ptr<shard_router> self) {
    const auto ex = co_await net::this_coro::executor;
    net::steady_timer timer(ex);
    const auto wake = self->wake_;
    const auto first_delay = std::max(self->ep_.reconnect_min, std::chrono::milliseconds(1));
    const auto cap = std::max(self->ep_.reconnect_max, first_delay);
    auto delay = first_delay;
    std::optional<std::chrono::steady_clock::time_point> settled_at;
    for (;;) {
        auto [wec] = co_await wake->async_receive(net::as_tuple(net::use_awaitable));
        if (wec)
            co_return;
        if (settled_at && std::chrono::steady_clock::now() - *settled_at < cap) {
            // Woken again soon after settling (a node that keeps redirecting, a cluster that is down): the
            // back-off goes on instead of asking at network speed.
            timer.expires_after(delay);
            co_await timer.async_wait(net::as_tuple(net::use_awaitable));
            delay = std::min(delay * 2, cap);
        } else {
            delay = first_delay;
        }
        for (;;) {
            {
                std::lock_guard lock(self->mutex_);
                if (self->closed_)
                    co_return;
                self->refresh_wanted_ = false;
                self->refreshing_ = true;
            }
            auto [what, topology] = co_await self->fetch();
            bool done = false;
            {
                std::lock_guard lock(self->mutex_);
                if (self->closed_)
                    co_return;
                if (what == fetched::standalone && self->mode_ != mode::cluster) {
                    self->mode_ = mode::standalone;
                    for (const auto& c : self->lost_) { // refused while the mode was not known
                        const auto placed = self->channels_.find(c);
                        if (placed == self->channels_.end())
                            continue;
                        if (const auto n = self->nodes_.find(placed->second); n != self->nodes_.end()) {
                            self->ensure_subscriber(*n->second);
                            n->second->subscriber->ssubscribe({c});
                        }
                    }
                    self->lost_.clear();
                    ++self->generation_;
                    done = true;
                } else if (what == fetched::topology) {
                    const bool complete = topology->complete();
                    self->apply(std::move(*topology));
                    ++self->refreshes_;
                    done = complete && self->lost_.empty() && self->nodes_in_use_up();
                }
                if (done && !self->refresh_wanted_)
                    self->refreshing_ = false;
                else
                    done = false;
            }
            if (done)
                break;
            if (what == fetched::failed)
                SIO_LOG(adapter, warning,
                        "sharded redis adapter: no node answered CLUSTER SLOTS; asking again in ",
                        delay.count(), " ms");
            timer.expires_after(delay);
            co_await timer.async_wait(net::as_tuple(net::use_awaitable));
            delay = std::min(delay * 2, cap);
        }
        settled_at = std::chrono::steady_clock::now();
        self->wake_settled();
    }
}

shard_router::mode shard_router::current_mode() const {
    std::lock_guard lock(mutex_);
    return mode_;
}

std::map<std::string, std::string> shard_router::placement() const {
    std::lock_guard lock(mutex_);
    return channels_;
}

} // namespace sio::redis_detail
