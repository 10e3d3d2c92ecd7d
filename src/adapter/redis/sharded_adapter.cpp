// The sharded Redis adapter: one namespace's `cluster_adapter` over the server's shared sharded link
// (sharded_link.hpp). Messages are the cluster-adapter envelopes (../cluster_wire.hpp), published with
// SPUBLISH on the namespace's channel, on a room's channel (dynamic modes, Node's rule) or on the
// requester's response channel; the servers are counted with PUBSUB SHARDNUMSUB of the namespace's
// channel. In the dynamic modes, the adapter follows its room table: a room's channel is subscribed
// when the room appears on this server and given up once it has no socket left here.
#include <sio/adapter/redis_sharded.hpp>

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <mutex>
#include <set>

#include "../../log.hpp"
#include "../cluster_wire.hpp"
#include "sharded_channels.hpp"
#include "sharded_link.hpp"

namespace sio {

namespace net = boost::asio;

namespace {

using redis_detail::sharded_link;
using mode = redis_subscription_mode;

class sharded_adapter_impl final : public cluster_adapter, public redis_detail::sharded_receiver {
public:
    sharded_adapter_impl(adapter_host& host, std::shared_ptr<sharded_link> link)
        : cluster_adapter(host, cluster_options{{}, link->options().connection.requests_timeout}),
          link_(std::move(link)), mode_(link_->options().subscription_mode),
          main_(redis_detail::sharded_main_channel(link_->options().channel_prefix, host.name())),
          own_(main_ + uid() + "#") {
        endpoint_ = link_->attach(this, host.name(), {main_, own_}, host.executor());
        if (mode_ != mode::static_) {
            on_create_room([this](const std::string& room) { follow_room(room); });
            on_delete_room([this](const std::string& room) { follow_room(room); });
        }
    }
    ~sharded_adapter_impl() override { close(); }

    void close() override {
        cluster_adapter::close();
        std::shared_ptr<sharded_link::endpoint> e;
        {
            std::lock_guard lock(mutex_);
            e = std::move(endpoint_);
        }
        if (e)
            link_->detach(e);
    }

    void init() override {
        auto e = endpoint();
        if (!e)
            return;
        std::lock_guard lock(e->mutex);
        if (e->anchor.expired())
            e->anchor = host().anchor();
    }

    net::awaitable<std::error_code> ready() override {
        auto e = endpoint();
        if (!e)
            co_return make_error_code(error::adapter_closed);
        co_return co_await link_->ready(std::move(e));
    }

    /// Every channel of the link subscribed on a connected node (shard_router::connected).
    bool connected() const noexcept override {
        const auto router = link_->router();
        return router && router->connected();
    }

    // dynamic-private: a socket's own room has a channel too (the room table reports no creation for it).
    void add_socket(const socket& s) override {
        cluster_adapter::add_socket(s);
        if (mode_ == mode::dynamic_private)
            follow_room(std::string(s.id()));
    }
    void remove_socket(const socket& s) override {
        cluster_adapter::remove_socket(s);
        if (mode_ == mode::dynamic_private)
            follow_room(std::string(s.id()));
    }

    /// This server's rooms: the cluster-adapter format has no request for the others' (like Node's).
    net::awaitable<room_list> all_rooms() override {
        room_list out;
        out.rooms = local_rooms();
        std::sort(out.rooms.begin(), out.rooms.end());
        co_return out;
    }

    void receive(std::string_view channel, std::string_view payload) override {
        auto d = cluster_wire::decode(payload, host().name());
        switch (d.result) {
        case cluster_wire::decoded::outcome::message:
            // A message on this server's response channel is a response whatever its type (Node's
            // rule); responses on other channels are routed by type in on_message.
            if (channel == own_ && !d.message.is_response())
                return;
            on_message(std::move(d.message));
            return;
        case cluster_wire::decoded::outcome::dropped:
            SIO_LOG(adapter, warning, "sharded redis adapter: dropped a message on ", channel, ": ", d.why);
            return;
        case cluster_wire::decoded::outcome::ignored:
            return;
        }
    }

protected:
    net::awaitable<std::error_code> publish(cluster_message m) override {
        std::string payload;
        if (!cluster_wire::encode(m, host().name(), cluster_wire::encoding::json_unless_binary, payload))
            co_return std::error_code{};
        co_return link_->publish(redis_detail::sharded_channel_for(m, main_, mode_), std::move(payload));
    }

    net::awaitable<std::error_code> publish_response(std::string to, cluster_message m) override {
        std::string payload;
        if (!cluster_wire::encode(m, host().name(), cluster_wire::encoding::json_unless_binary, payload))
            co_return std::error_code{};
        co_return link_->publish(main_ + to + "#", std::move(payload));
    }

    /// PUBSUB SHARDNUMSUB of the namespace's channel, summed over the masters of a Redis Cluster.
    /// Unknown (Redis unreachable or silent) counts as 2: somebody else may be there, so requests report
    /// the failure.
    net::awaitable<std::size_t> remote_server_count() override {
        const auto n = co_await link_->shard_subscribers(main_);
        if (!n)
            co_return std::size_t{2};
        co_return std::max<std::size_t>(1, *n);
    }

private:
    std::shared_ptr<sharded_link::endpoint> endpoint() {
        std::lock_guard lock(mutex_);
        return endpoint_;
    }

    /// Subscribes to the room's channel while the room has sockets here, and gives it up once it has none
    /// (checked now, under the lock, whatever order the room events arrived in). In `dynamic` mode, a room
    /// that is the id of a socket of this server has no channel (Node's rule: broadcasts to it go to the
    /// namespace's channel).
    void follow_room(const std::string& room) {
        broadcast_flags f;
        f.rooms = {room};
        std::lock_guard lock(mutex_); // then the room table's: room handlers run with no lock held
        if (!endpoint_)
            return;
        const auto members = local_sinks(f);
        const bool socket_id =
            mode_ == mode::dynamic &&
            std::any_of(members.begin(), members.end(), [&](const auto& s) { return s->id() == room; });
        const bool wanted = !members.empty() && !socket_id;
        const bool has = followed_.contains(room);
        if (wanted && !has) {
            followed_.insert(room);
            link_->add_channel(endpoint_, main_ + room + "#");
        } else if (!wanted && has) {
            followed_.erase(room);
            link_->remove_channel(endpoint_, main_ + room + "#");
        }
    }

    std::shared_ptr<sharded_link> link_;
    const mode mode_;
    const std::string main_; ///< `<prefix>#<nsp>#`
    const std::string own_;  ///< `<prefix>#<nsp>#<uid>#`
    std::mutex mutex_;
    std::shared_ptr<sharded_link::endpoint> endpoint_;
    std::set<std::string> followed_; ///< rooms whose channel is subscribed
};

} // namespace

adapter_factory redis_sharded_adapter(redis_sharded_options options) {
    auto link = std::make_shared<sharded_link>(std::move(options));
    return [link](adapter_host& host) -> std::unique_ptr<adapter> {
        return std::make_unique<sharded_adapter_impl>(host, link);
    };
}

} // namespace sio
