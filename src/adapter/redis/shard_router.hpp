// Private to the library: sharded pub/sub on a Redis Cluster or on one standalone Redis. The router
// learns the slot map from the seed nodes (`CLUSTER SLOTS`) and sends each SSUBSCRIBE and SPUBLISH to the
// master serving the channel's slot: one command connection per master it published to, one subscriber
// connection per master that serves one of its channels. A standalone Redis answers `CLUSTER SLOTS` with
// an error: the router then keeps every channel on the seed (two connections, as before clusters).
//
// The slot map is read again, with back-off (reconnect_min doubling up to reconnect_max), when a node
// redirects a publication (`-MOVED`: the publication is sent again, once, to the node named; `-ASK`: once,
// after ASKING), when a node gives up or refuses a subscription (resharding), and when a subscriber
// connection is lost (failover); then until every node in use is reachable again. Channels whose slot
// moved are given up on the old node and subscribed on the new one. A map with unserved slots settles
// with the served ones (see maintain()). Thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "cluster_topology.hpp"
#include "connection.hpp"

namespace sio::redis_detail {

class shard_router : public std::enable_shared_from_this<shard_router> {
public:
    using message_handler = subscriber_connection::message_handler;
    using state_handler = subscriber_connection::state_handler;
    /// A publication that could not be handed to Redis (the channel, why).
    using drop_handler = std::function<void(const std::string& channel, std::error_code why)>;

    enum class mode {
        probing,    ///< not known yet: everything on the first seed
        standalone, ///< a Redis without cluster support: everything on the first seed
        cluster,    ///< each channel on the master of its slot
    };

    /// `seeds`: where to ask for the slot map (the first one carries everything until it is known); each
    /// node is reached with `ep`'s settings and its own host and port. Call start() next.
    shard_router(boost::asio::any_io_executor ex, endpoint ep, std::vector<cluster_node> seeds,
                 message_handler on_message, state_handler on_state, drop_handler on_drop);
    ~shard_router();
    shard_router(const shard_router&) = delete;
    shard_router& operator=(const shard_router&) = delete;

    /// Opens the first seed's connections and asks for the slot map.
    void start();
    /// Closes every connection; no handler runs once the connections' strands drained.
    void close();

    /// SSUBSCRIBE / SUNSUBSCRIBE, each channel on its node (one command per channel).
    void subscribe(const std::vector<std::string>& channels);
    void unsubscribe(const std::vector<std::string>& channels);
    /// Subscribes again to every channel (after refusals), reading the slot map first on a cluster.
    void resubscribe();

    /// SPUBLISH on the channel's node, without waiting for the count of receivers. An error when it could
    /// not be handed over (not_connected, queue_full, closed; not_connected too for a channel whose slot
    /// no node serves); a failure seen later (a redirection that failed too, the connection lost) goes to
    /// `on_drop`, never both.
    std::error_code publish(const std::string& channel, std::string payload);

    /// `PUBSUB SHARDNUMSUB channel` summed over the masters; nullopt when a master did not answer.
    boost::asio::awaitable<std::optional<std::size_t>> shard_subscribers(std::string channel);

    /// Resolves once the slot map is settled (no channel waiting to move) and every subscription issued
    /// so far is confirmed; the first error of a subscriber connection otherwise (see
    /// subscriber_connection::synced). Channels of slots no node serves do not hold it up. A call cancelled
    /// (or whose coroutine is destroyed) while waiting leaves nothing behind.
    boost::asio::awaitable<std::error_code> synced();

    /// True while every channel is subscribed on a connected node: each node holding channels is up, none
    /// waits to be placed again (after a failover or a resharding) or sits in a slot no node serves. False
    /// once closed. The sharded adapter's `connected()` (the health check).
    bool connected() const {
        std::lock_guard lock(mutex_);
        return !closed_ && lost_.empty() && unplaced_.empty() && nodes_in_use_up();
    }

    mode current_mode() const;
    /// The address (`host:port`) of the node each subscribed channel is on (for tests and logs).
    std::map<std::string, std::string> placement() const;
    /// Slot maps read so far.
    std::uint64_t refreshes() const noexcept { return refreshes_; }
    /// Nodes with connections (or placed channels), and synced() calls waiting for the map: for tests.
    std::size_t node_count() const;
    std::size_t settle_waiter_count() const;

    /// ASK targets outside the slot map (nodes importing a slot) keep their connection among the last
    /// this many only.
    static constexpr std::size_t max_off_map_nodes = 4;

private:
    struct node;
    struct settle_waiter;
    struct forget_waiter;
    struct wake_channel;
    enum class fetched { topology, standalone, failed };

    // Under mutex_:
    std::shared_ptr<node> node_of(const cluster_node& n);
    cluster_node route(const std::string& channel); ///< the node serving the channel's slot
    void ensure_subscriber(node& n);
    std::shared_ptr<command_connection> commands_of(node& n);
    void apply(cluster_topology t);
    bool settled() const;
    bool nodes_in_use_up() const;
    void wake_settled();
    void want_refresh();
    void on_lost(std::vector<std::string> channels);
    void on_node_state(bool up);
    bool on_map(const cluster_node& n) const; ///< a seed, or a master of the slot map
    /// True when the slot map already says what a `-MOVED` says (a late answer of the slot's old node).
    bool known_owner(const cluster_redirect& redirect) const;
    void publish_to(const cluster_node& to, const std::string& channel, std::string payload, bool asking);
    static boost::asio::awaitable<void> maintain(std::shared_ptr<shard_router> self);
    boost::asio::awaitable<std::pair<fetched, std::optional<cluster_topology>>> fetch();

    const boost::asio::any_io_executor executor_;
    const endpoint ep_;
    const std::vector<cluster_node> seeds_;
    const message_handler on_message_;
    const state_handler on_state_;
    const drop_handler on_drop_;

    mutable std::mutex mutex_;
    mode mode_ = mode::probing;
    std::optional<cluster_topology> topology_;
    std::map<std::string, std::shared_ptr<node>> nodes_; ///< by address
    std::map<std::string, std::string> channels_;        ///< channel -> address of its node
    std::set<std::string> lost_;                         ///< channels to subscribe again after a refresh
    std::set<std::string> unplaced_;  ///< channels of slots no node serves (placed at address "")
    std::deque<std::string> off_map_; ///< addresses of ASK targets outside the map, oldest first
    /// Evicted connections of ASK targets, closed once their publications in flight are answered.
    std::vector<std::shared_ptr<command_connection>> retiring_;
    bool refresh_wanted_ = false;
    bool refreshing_ = false; ///< the maintainer is reading the slot map or waiting to read it again
    bool closed_ = false;
    std::uint64_t generation_ = 0; ///< changes of the placement
    std::vector<std::shared_ptr<settle_waiter>> settle_waiters_;
    std::shared_ptr<wake_channel> wake_;                             ///< the maintainer's wake-up call
    const boost::asio::strand<boost::asio::any_io_executor> strand_; ///< the maintainer's
    const std::shared_ptr<boost::asio::steady_timer> backoff_;       ///< its back-off delays, on strand_
    std::atomic<std::uint64_t> refreshes_{0};
};

} // namespace sio::redis_detail
