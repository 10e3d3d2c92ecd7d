// Sharded pub/sub routed by slot (see shard_router.hpp): the nodes and their connections, the placement
// of each channel, the slot map read again with back-off, redirected publications.
#include "shard_router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "../../log.hpp"
#include "command_handover.hpp"

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
      wake_(std::make_shared<wake_channel>(executor_, 1)), strand_(net::make_strand(executor_)),
      backoff_(std::make_shared<net::steady_timer>(strand_)) {}

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
    net::co_spawn(strand_, maintain(shared_from_this()), net::detached);
}

void shard_router::close() {
    std::map<std::string, std::shared_ptr<node>> nodes;
    std::vector<std::shared_ptr<command_connection>> retiring;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        closed_ = true;
        nodes.swap(nodes_);
        retiring.swap(retiring_);
    }
    for (auto& c : retiring)
        c->close();
    for (auto& [address, n] : nodes) {
        if (n->commands)
            n->commands->close();
        if (n->subscriber)
            n->subscriber->close();
    }
    wake_->close();
    // Ends a back-off wait (the maintainer checks closed_ before each wait, on its strand: no gap).
    net::post(strand_, [timer = backoff_] { timer->cancel(); });
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
        if (mode_ == mode::cluster && topology_ && !topology_->owner(key_slot(c))) {
            // A slot no node serves (a cluster with `cluster-require-full-coverage no`): subscribed once
            // the maintainer, asking again with back-off, finds its owner.
            if (const auto placed = channels_.find(c); placed != channels_.end())
                if (const auto old = nodes_.find(placed->second); old != nodes_.end())
                    old->second->channels.erase(c);
            channels_[c] = std::string();
            unplaced_.insert(c);
            lost_.erase(c);
            continue;
        }
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
        unplaced_.erase(c);
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
    cluster_node to;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return make_error_code(errc::closed);
        m = mode_;
        if (m == mode::cluster && topology_ && !topology_->owner(key_slot(channel)))
            return make_error_code(errc::not_connected); // a slot no node serves (see maintain)
        to = route(channel);
        commands = commands_of(*node_of(to));
    }
    if (m == mode::standalone)
        return commands->send({"SPUBLISH", channel, std::move(payload)});
    // A cluster (or not known yet): the node may redirect it.
    auto copy = std::make_shared<std::string>(payload);
    auto state = std::make_shared<command_handover>();
    std::weak_ptr<shard_router> weak = weak_from_this();
    commands->command({"SPUBLISH", channel, std::move(payload)},
                      [weak, channel, copy, state, asked = to.host](std::error_code ec, reply r) {
                          if (ec && state->refuse(ec))
                              return;
                          auto self = weak.lock();
                          if (!self)
                              return;
                          if (ec) {
                              self->on_drop_(channel, ec);
                              return;
                          }
                          if (r.type != reply::kind::error)
                              return;
                          if (auto redirect = parse_redirect(r.str, asked)) {
                              const bool ask = redirect->type == cluster_redirect::kind::ask;
                              if (!ask && !self->known_owner(*redirect))
                                  self->want_refresh();
                              self->publish_to(redirect->to, channel, std::move(*copy), ask);
                              return;
                          }
                          if (is_cluster_unavailable(r.str))
                              self->want_refresh();
                          self->on_drop_(channel, make_error_code(errc::protocol_error));
                      });
    return state->done();
}

bool shard_router::known_owner(const cluster_redirect& redirect) const {
    std::lock_guard lock(mutex_);
    if (mode_ != mode::cluster || !topology_)
        return false;
    const auto* owner = topology_->owner(redirect.slot);
    return owner && *owner == redirect.to;
}

void shard_router::publish_to(const cluster_node& to, const std::string& channel, std::string payload,
                              bool asking) {
    std::shared_ptr<command_connection> commands;
    std::shared_ptr<command_connection> evicted;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        const bool known = nodes_.contains(to.address());
        commands = commands_of(*node_of(to));
        if (!known && !on_map(to)) {
            // An ASK target outside the slot map (a node importing a slot): kept among the last few only.
            off_map_.push_back(to.address());
            while (off_map_.size() > max_off_map_nodes) {
                const auto old = nodes_.find(off_map_.front());
                off_map_.pop_front();
                if (old != nodes_.end() && old->second->channels.empty() && !on_map(old->second->name)) {
                    evicted = old->second->commands;
                    nodes_.erase(old);
                    if (evicted && ep_.command_timeout.count() != 0)
                        retiring_.push_back(evicted);
                }
            }
        }
    }
    if (evicted) {
        // Closed once the publications in flight on it are answered (replies come in command order), so
        // that they are not dropped; at once when no command timeout bounds that wait.
        if (ep_.command_timeout.count() == 0)
            evicted->close();
        else
            evicted->command(
                {"PING"}, [weak = weak_from_this(), gone = std::weak_ptr(evicted)](std::error_code, reply) {
                    auto self = weak.lock();
                    auto c = gone.lock();
                    if (!self || !c)
                        return; // closed with the router
                    std::lock_guard lock(self->mutex_);
                    if (std::erase(self->retiring_, c) != 0)
                        net::post(self->executor_, [c] { c->close(); });
                });
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

bool shard_router::on_map(const cluster_node& n) const {
    const bool seed = std::find(seeds_.begin(), seeds_.end(), n) != seeds_.end();
    if (seed || !topology_)
        return seed;
    const auto& masters = topology_->masters();
    return std::find(masters.begin(), masters.end(), n) != masters.end();
}

std::size_t shard_router::node_count() const {
    std::lock_guard lock(mutex_);
    return nodes_.size();
}

std::size_t shard_router::settle_waiter_count() const {
    std::lock_guard lock(mutex_);
    return settle_waiters_.size();
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

struct shard_router::forget_waiter {
    std::weak_ptr<shard_router> router;
    std::shared_ptr<settle_waiter> waiter;
    ~forget_waiter() {
        if (auto self = router.lock()) {
            std::lock_guard lock(self->mutex_);
            std::erase(self->settle_waiters_, waiter);
        }
    }
};

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
            // Leaves settle_waiters_ however the wait ends: resolved, cancelled, or its frame destroyed.
            const forget_waiter forget{weak_from_this(), wait};
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
        if (!owner) { // nobody serves it (as in subscribe()): asked again later (see maintain)
            if (const auto old = nodes_.find(address); old != nodes_.end())
                old->second->channels.erase(c); // a dead former owner no longer holds synced() back
            address.clear();
            unplaced_.insert(c);
            lost_.erase(c);
            continue;
        }
        if (unplaced_.erase(c) && owner->address() == address) {
            lost_.insert(c);
            continue;
        }
        if (owner->address() == address)
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
            unplaced_.insert(*it);
            it = lost_.erase(it);
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
// until every node in use is reachable and every channel whose slot is served subscribed there; then waits
// for the next request. A map that leaves slots unserved (`cluster-require-full-coverage no`) settles with
// the served ones: it is read again in the background, with back-off, until it covers every slot; channels
// of unserved slots are unavailable meanwhile (a warning says how many).
net::awaitable<void> shard_router::maintain(std::shared_ptr<shard_router> self) {
    auto& timer = *self->backoff_; // on the maintainer's strand; close() cancels it
    const auto wake = self->wake_;
    const auto first_delay = std::max(self->ep_.reconnect_min, std::chrono::milliseconds(1));
    const auto cap = std::max(self->ep_.reconnect_max, first_delay);
    auto delay = first_delay;
    auto coverage_delay = first_delay;
    std::size_t warned_unplaced = 0;
    std::optional<std::chrono::steady_clock::time_point> settled_at;
    for (;;) {
        auto [wec] = co_await wake->async_receive(net::as_tuple(net::use_awaitable));
        if (wec)
            co_return;
        bool background = false; // only the coverage retry: the router stays settled meanwhile
        {
            std::lock_guard lock(self->mutex_);
            if (self->closed_)
                co_return;
            background = !self->refresh_wanted_;
        }
        if (!background && settled_at && std::chrono::steady_clock::now() - *settled_at < cap) {
            // Woken again soon after settling (a node that keeps redirecting, a cluster that is down): the
            // back-off goes on instead of asking at network speed.
            timer.expires_after(delay);
            co_await timer.async_wait(net::as_tuple(net::use_awaitable));
            delay = std::min(delay * 2, cap);
        } else if (!background) {
            delay = first_delay;
        }
        bool gap = false; // some slot unserved
        std::size_t unplaced = 0;
        for (;;) {
            {
                std::lock_guard lock(self->mutex_);
                if (self->closed_)
                    co_return;
                if (!background || self->refresh_wanted_) {
                    background = false;
                    self->refreshing_ = true;
                }
                self->refresh_wanted_ = false;
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
                    gap = !topology->complete();
                    self->apply(std::move(*topology));
                    ++self->refreshes_;
                    done = self->lost_.empty() && self->nodes_in_use_up();
                }
                unplaced = self->unplaced_.size();
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
        if (!gap) {
            coverage_delay = first_delay;
            warned_unplaced = 0;
            continue;
        }
        if (unplaced != warned_unplaced) {
            warned_unplaced = unplaced;
            if (unplaced > 0)
                SIO_LOG(adapter, warning, "sharded redis adapter: ", unplaced,
                        " channels are in hash slots no node serves; unavailable until the slot map covers "
                        "them (asked again in ",
                        coverage_delay.count(), " ms)");
        }
        {
            std::lock_guard lock(self->mutex_); // close() posts its cancel after setting closed_
            if (self->closed_)
                co_return;
        }
        timer.expires_after(coverage_delay);
        timer.async_wait([wake](boost::system::error_code ec) {
            if (!ec)
                wake->try_send(boost::system::error_code{});
        });
        coverage_delay = std::min(coverage_delay * 2, cap);
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
