// The Redis adapter: one namespace's `cluster_adapter` over the server's shared link to Redis
// (redis_link.hpp). It publishes cluster messages in the wire format of Node's @socket.io/redis-adapter
// (wire.hpp, docs/adapters.md), hands what arrives on its channels to the cluster adapter, answers the
// legacy requests, and counts the servers with PUBSUB NUMSUB of its request channel.
#include <sio/adapter/redis.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <mutex>
#include <random>

#include "../../log.hpp"
#include "connection.hpp"
#include "redis_link.hpp"
#include "wire.hpp"

namespace sio {

namespace net = boost::asio;

namespace {

using redis_detail::channel_names;
using redis_detail::decoded;
using redis_detail::redis_link;

/// 6 URL-safe random characters (the reference's uid2(6)).
std::string random_uid() {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string out(6, 'A');
    for (char& c : out)
        c = alphabet[rng() % 64];
    return out;
}

void log_dropped(std::string_view why, std::string_view channel) {
    SIO_LOG(adapter, warning, "redis adapter: dropped a message on ", channel, ": ", why);
}

/// One namespace's adapter.
class redis_adapter_impl final : public cluster_adapter, public redis_detail::link_receiver {
public:
    redis_adapter_impl(adapter_host& host, std::shared_ptr<redis_link> link)
        : cluster_adapter(host, cluster_options{random_uid(), link->options().requests_timeout}),
          link_(std::move(link)), names_(link_->options().key, host.name(), uid()) {
        endpoint_ = link_->attach(this, host.name(), names_, host.executor());
    }
    ~redis_adapter_impl() override { close(); }

    void close() override {
        cluster_adapter::close();
        std::shared_ptr<redis_link::endpoint> e;
        {
            std::lock_guard lock(close_mutex_);
            e = std::move(endpoint_);
        }
        if (e)
            link_->detach(e);
    }

    /// The namespace is owned by a shared_ptr now: messages may be handed over.
    void init() override {
        std::shared_ptr<redis_link::endpoint> e;
        {
            std::lock_guard lock(close_mutex_);
            e = endpoint_;
        }
        if (!e)
            return;
        std::lock_guard lock(e->mutex);
        if (e->anchor.expired())
            e->anchor = host().anchor();
    }

    /// Once Redis confirmed this namespace's subscriptions; while Redis is unreachable, at the next
    /// connection that re-subscribed.
    net::awaitable<std::error_code> ready() override {
        std::shared_ptr<redis_link::endpoint> e;
        {
            std::lock_guard lock(close_mutex_);
            e = endpoint_;
        }
        return wait_ready(link_, std::move(e));
    }

    bool connected() const noexcept override { return link_->subscribed(); }

    /// A message on one of this namespace's channels (the subscriber's strand).
    void receive(std::string_view channel, std::string_view payload) override {
        switch (names_.classify(channel)) {
        case channel_names::kind::request:
            handle(channel, redis_detail::decode_request(payload));
            break;
        case channel_names::kind::response:
            if (names_.response_is_ours(channel)) // else addressed to another server
                handle(channel, redis_detail::decode_response(payload));
            break;
        case channel_names::kind::broadcast:
            handle(channel, redis_detail::decode_broadcast(payload, host().name()));
            break;
        case channel_names::kind::none:
            break;
        }
    }

private:
    /// Holds the link and the endpoint, not the adapter, which may be destroyed meanwhile (then the
    /// endpoint is detached: `error::adapter_closed`).
    static net::awaitable<std::error_code> wait_ready(std::shared_ptr<redis_link> link,
                                                      std::shared_ptr<redis_link::endpoint> e) {
        const auto ex = co_await net::this_coro::executor;
        auto detached = [&e] {
            if (!e)
                return true;
            std::lock_guard lock(e->mutex);
            return e->target == nullptr;
        };
        for (;;) {
            if (detached())
                co_return make_error_code(error::adapter_closed);
            const std::uint64_t seen = link->ups();
            auto sub = link->subscriber();
            if (!sub)
                co_return make_error_code(error::adapter_closed);
            // Every subscription issued so far, this namespace's included, confirmed: done. Down or
            // connecting: synced() fails (at once, or when the attempt fails), then wait for Redis.
            const std::error_code ec = co_await sub->synced();
            if (!ec)
                co_return ec;
            if (ec == redis_detail::errc::subscribe_failed)
                co_return ec;
            if ((co_await net::this_coro::cancellation_state).cancelled() != net::cancellation_type::none)
                co_return std::error_code(boost::system::error_code(net::error::operation_aborted));
            if (auto waiter = link->wait_up(ex, seen)) {
                auto [wec, up] = co_await waiter->async_receive(net::as_tuple(net::use_awaitable));
                if (wec) // cancelled
                    co_return std::error_code(wec);
            }
        }
    }

protected:
    net::awaitable<std::error_code> publish(cluster_message m) override {
        std::string channel;
        std::string payload;
        if (!redis_detail::encode_request(m, names_, host().name(), channel, payload))
            co_return std::error_code{};
        co_return link_->publish(channel, std::move(payload));
    }

    net::awaitable<std::error_code> publish_response(std::string to, cluster_message m) override {
        std::string channel;
        std::string payload;
        if (!redis_detail::encode_response(to, m, names_, specific_channel(), channel, payload))
            co_return std::error_code{};
        co_return link_->publish(channel, std::move(payload));
    }

    /// PUBSUB NUMSUB of the request channel, bounded by the requests timeout. Unknown (Redis unreachable
    /// or silent) counts as 2: somebody else may be there, so requests report the failure. Concurrent
    /// callers share one NUMSUB: the first starts it, the others wait for its answer.
    net::awaitable<std::size_t> remote_server_count() override {
        auto c = link_->command_connection();
        if (!c)
            co_return std::size_t{2};
        const auto ex = co_await net::this_coro::executor;
        auto out = std::make_shared<count_channel>(ex, 1);
        std::shared_ptr<count_lookup> lookup;
        bool first = false;
        {
            std::lock_guard lock(counts_->mutex);
            if (!counts_->in_flight) {
                counts_->in_flight = std::make_shared<count_lookup>();
                first = true;
            }
            lookup = counts_->in_flight;
            lookup->waiters.push_back(out);
        }
        if (first)
            net::co_spawn(ex, numsub(c, numsub_command(), counts_, lookup), net::detached);
        auto timer = std::make_shared<net::steady_timer>(ex, link_->options().requests_timeout);
        timer->async_wait([out, lookup, counts = counts_](boost::system::error_code ec) {
            if (ec)
                return;
            {
                std::lock_guard lock(counts->mutex);
                std::erase(lookup->waiters, out);
            }
            out->try_send(boost::system::error_code{}, std::size_t{2});
        });
        auto [ec, n] = co_await out->async_receive(net::as_tuple(net::use_awaitable));
        timer->cancel();
        co_return ec ? std::size_t{2} : n;
    }

private:
    using count_channel = net::experimental::concurrent_channel<void(boost::system::error_code, std::size_t)>;

    /// One NUMSUB in flight and the callers waiting for it.
    struct count_lookup {
        std::vector<std::shared_ptr<count_channel>> waiters; ///< under count_state::mutex
    };
    struct count_state {
        std::mutex mutex;
        std::shared_ptr<count_lookup> in_flight; ///< null when no NUMSUB is in flight
    };

    static net::awaitable<void> numsub(std::shared_ptr<redis_detail::command_connection> c,
                                       std::vector<std::string> command, std::shared_ptr<count_state> counts,
                                       std::shared_ptr<count_lookup> lookup) {
        auto [ec, r] = co_await c->command(std::move(command));
        std::size_t n = 2;
        if (!ec && r.type == redis_detail::reply::kind::array && r.elements.size() >= 2 &&
            r.elements[1].type == redis_detail::reply::kind::integer)
            n = static_cast<std::size_t>(std::max<std::int64_t>(1, r.elements[1].integer));
        std::vector<std::shared_ptr<count_channel>> waiters;
        {
            std::lock_guard lock(counts->mutex);
            if (counts->in_flight == lookup)
                counts->in_flight.reset();
            waiters.swap(lookup->waiters);
        }
        for (auto& w : waiters)
            w->try_send(boost::system::error_code{}, n);
    }

    std::vector<std::string> numsub_command() const { return {"PUBSUB", "NUMSUB", names_.request}; }

    bool specific_channel() const { return link_->options().publish_on_specific_response_channel; }

    /// Acts on what a message decoded to.
    void handle(std::string_view channel, decoded d) {
        switch (d.result) {
        case decoded::outcome::message:
            if (d.answer_legacy)
                answer_legacy(d.message);
            on_message(std::move(d.message));
            return;
        case decoded::outcome::sockets_query:
            answer_sockets_query(d.message);
            return;
        case decoded::outcome::dropped:
            log_dropped(d.why, channel);
            return;
        case decoded::outcome::ignored:
            return;
        }
    }

    /// The legacy `sockets` request (still answered by the reference): the ids of the local sockets.
    void answer_sockets_query(const cluster_message& m) {
        if (m.uid == uid() || m.request_id.empty())
            return;
        broadcast_flags f;
        f.rooms = m.rooms;
        std::vector<std::string> ids;
        for (const auto& s : local_sockets(f))
            ids.emplace_back(s.id());
        (void)link_->publish(names_.response_for(m.uid, specific_channel()),
                             redis_detail::encode_sockets_answer(m.request_id, ids));
    }

    /// The legacy single-socket join/leave/disconnect forms are answered with `{requestId}`.
    void answer_legacy(const cluster_message& m) {
        if (m.request_id.empty() || m.uid == uid())
            return;
        (void)link_->publish(names_.response_for(m.uid, specific_channel()),
                             redis_detail::encode_legacy_answer(m.request_id));
    }

    std::shared_ptr<redis_link> link_;
    const channel_names names_;
    const std::shared_ptr<count_state> counts_ = std::make_shared<count_state>();
    std::mutex close_mutex_;
    std::shared_ptr<redis_link::endpoint> endpoint_;
};

} // namespace

adapter_factory redis_adapter(redis_options options) {
    auto link = std::make_shared<redis_link>(std::move(options));
    return [link](adapter_host& host) -> std::unique_ptr<adapter> {
        return std::make_unique<redis_adapter_impl>(host, link);
    };
}

} // namespace sio
