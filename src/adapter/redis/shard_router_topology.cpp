// The slot map of shard_router (see shard_router.hpp): read from the cluster, applied to the channels'
// placement, and kept current by one maintenance coroutine with back-off.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "../../log.hpp"
#include "command_handover.hpp"
#include "shard_router_parts.hpp"

namespace sio::redis_detail {

namespace {

// Outside the coroutines: GCC 12 miscompiles braced initialisers with literals inside them.
std::vector<std::string> slots_command() {
    return {"CLUSTER", "SLOTS"};
}

} // namespace

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

} // namespace sio::redis_detail
