// The subscriber connection: (P)SUBSCRIBE and (P)UNSUBSCRIBE on one session in pub/sub mode, the sets of
// channels and patterns sent again after each reconnection, synced() waiters, and the back-off between
// connection attempts. See connection.hpp for the behaviour.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <set>

#include "../../log.hpp"
#include "cluster_topology.hpp"
#include "connection.hpp"
#include "connection_core.hpp"

namespace sio::redis_detail {

struct subscriber_connection::impl : connection_core, std::enable_shared_from_this<impl> {
    using sync_channel =
        net::experimental::concurrent_channel<void(boost::system::error_code, std::error_code)>;

    /// A synced() call: resolves once `threshold` commands of the session completed.
    struct sync_waiter {
        std::uint64_t threshold = 0;
        std::shared_ptr<sync_channel> channel;
        std::error_code error; ///< a refused subscription it covers
    };
    enum class op { subscribe, psubscribe, unsubscribe, punsubscribe, ssubscribe, sunsubscribe };
    /// A (P)(UN)SUBSCRIBE written: how many confirmations it still expects (one per argument).
    struct inflight_command {
        std::size_t remaining = 0;
        op what = op::subscribe;
        /// (P)(S)SUBSCRIBE: dropped from the set when refused; SUNSUBSCRIBE: the channel given up
        std::vector<std::string> names;
    };

    impl(net::any_io_executor ex, endpoint e, message_handler m, state_handler s, shard_lost_handler l)
        : connection_core(std::move(ex), std::move(e), state::connecting), on_message(std::move(m)),
          on_state(std::move(s)), on_shard_lost(std::move(l)), backoff(strand) {}

    const message_handler on_message;
    const state_handler on_state;
    const shard_lost_handler on_shard_lost;

    // Strand-only.
    net::steady_timer backoff;
    std::set<std::string> channels, patterns;
    std::set<std::string> shard_channels;  ///< SSUBSCRIBE (sharded pub/sub), one command per channel
    std::deque<inflight_command> inflight; ///< commands of the current session awaiting confirmations
    std::uint64_t issued = 0, completed = 0;
    std::vector<sync_waiter> waiters;
    std::vector<std::shared_ptr<sync_channel>> early; ///< synced() while connecting
    std::uint64_t up_threshold = 0;                   ///< the re-subscriptions of the session
    bool reported_up = false;
    /// A refusal that arrived while no synced() call was waiting: the next synced() call reports it.
    bool unreported_refusal = false;

    static void complete(const std::shared_ptr<sync_channel>& ch, std::error_code ec) {
        ch->try_send(boost::system::error_code{}, ec);
    }

    void report(bool is_up) {
        if (!on_state || closed)
            return;
        try {
            on_state(is_up);
        } catch (...) {
        }
    }

    void start() { net::co_spawn(strand, run(shared_from_this()), run_done{shared_from_this()}); }

    void write_command(op what, std::vector<std::string> names) {
        static constexpr const char* verbs[] = {"SUBSCRIBE",    "PSUBSCRIBE", "UNSUBSCRIBE",
                                                "PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE"};
        std::vector<std::string> args;
        args.reserve(names.size() + 1);
        args.emplace_back(verbs[static_cast<int>(what)]);
        args.insert(args.end(), names.begin(), names.end());
        std::string cmd = format_command(args);
        if (cmd.empty())
            return;
        current->push(std::move(cmd));
        const std::size_t count = names.size();
        if (what == op::unsubscribe || what == op::punsubscribe)
            names.clear(); // (SUNSUBSCRIBE keeps its channel: its answer is told from a push by it)
        inflight.push_back(inflight_command{count, what, std::move(names)});
        ++issued;
        start_writer(strand, current);
    }

    /// subscribe() and friends: `change` on the strand, always queued (never run inline from a handler
    /// already on the strand), so changes reach Redis in the order they were asked for.
    void post_change(op o, std::vector<std::string> names) {
        net::post(strand, [self = shared_from_this(), o, n = std::move(names)]() mutable {
            self->change(o, std::move(n));
        });
    }

    void change(op o, std::vector<std::string> names) {
        if (st == state::closed || names.empty())
            return;
        const bool is_pattern = o == op::psubscribe || o == op::punsubscribe;
        const bool is_shard = o == op::ssubscribe || o == op::sunsubscribe;
        auto& set = is_shard ? shard_channels : is_pattern ? patterns : channels;
        const bool adding = o == op::subscribe || o == op::psubscribe || o == op::ssubscribe;
        for (const auto& n : names) {
            if (adding)
                set.insert(n);
            else
                set.erase(n);
        }
        if (st != state::up)
            return;     // sent with the others after the next connection
        if (is_shard) { // a Redis Cluster refuses channels of different slots in one command
            for (auto& n : names)
                write_command(o, {std::move(n)});
            return;
        }
        write_command(o, std::move(names));
    }

    void add_sync(std::shared_ptr<sync_channel> ch) {
        switch (st) {
        case state::closed:
            complete(ch, errc::closed);
            return;
        case state::down:
            complete(ch, errc::not_connected);
            return;
        case state::idle: // (never: a subscriber starts connecting)
        case state::connecting:
            early.push_back(std::move(ch));
            return;
        case state::up: {
            std::error_code refused;
            if (std::exchange(unreported_refusal, false))
                refused = errc::subscribe_failed;
            waiters.push_back(sync_waiter{issued, std::move(ch), refused});
            resolve();
            return;
        }
        }
    }

    /// Resolves the waiters whose commands all completed; reports the connection up once re-subscribed.
    void resolve() {
        std::erase_if(waiters, [this](const sync_waiter& w) {
            if (w.threshold > completed)
                return false;
            complete(w.channel, w.error);
            return true;
        });
        if (!reported_up && st == state::up && completed >= up_threshold) {
            reported_up = true;
            report(true);
        }
        // Established once re-subscribed, if Redis answered anything on this session (AUTH, the
        // confirmations): the back-off delay starts from reconnect_min again.
        if (reported_up && current && current->answered)
            established();
    }

    bool session_up(const std::shared_ptr<session>& s) {
        if (!mark_up(s))
            return false;
        issued = completed = 0;
        inflight.clear();
        if (!channels.empty())
            write_command(op::subscribe, std::vector<std::string>(channels.begin(), channels.end()));
        if (!patterns.empty())
            write_command(op::psubscribe, std::vector<std::string>(patterns.begin(), patterns.end()));
        for (const auto& c : shard_channels)
            write_command(op::ssubscribe, {c});
        up_threshold = issued;
        for (auto& ch : early)
            waiters.push_back(sync_waiter{issued, std::move(ch), {}});
        early.clear();
        resolve();
        return true;
    }

    /// Resolves every pending synced() call with `why`.
    void fail_waiters(std::error_code why) {
        auto failed = std::move(waiters);
        waiters.clear();
        auto failed_early = std::move(early);
        early.clear();
        for (auto& w : failed)
            complete(w.channel, why);
        for (auto& ch : failed_early)
            complete(ch, why);
    }

    void session_ended(const std::shared_ptr<session>& s, std::error_code ec) {
        if (!drop(s, ec))
            return;
        inflight.clear();
        fail_waiters(st == state::closed ? make_error_code(errc::closed) : s->error);
        if (st == state::closed)
            return;
        st = state::down;
        if (reported_up)
            SIO_LOG(adapter, warning, "redis subscriber connection lost: ", s->error);
        if (reported_up) {
            reported_up = false;
            report(false);
        }
    }

    /// A confirmation, or an error reply, for the oldest command in flight.
    void confirmed(bool refused) {
        if (inflight.empty())
            return;
        if (refused) {
            // The whole command failed (an ACL refusal, say): the waiters covering it learn it, and its
            // names leave the set, lest every re-subscription after a reconnection fail with them.
            bool told = false;
            for (auto& w : waiters) {
                if (w.threshold > completed) {
                    told = true;
                    if (!w.error)
                        w.error = errc::subscribe_failed;
                }
            }
            if (!told)
                unreported_refusal = true;
            const op what = inflight.front().what;
            if (what != op::sunsubscribe) {
                auto& set = what == op::psubscribe   ? patterns
                            : what == op::ssubscribe ? shard_channels
                                                     : channels;
                for (const auto& n : inflight.front().names)
                    set.erase(n);
            }
            inflight.front().remaining = 0;
        } else if (inflight.front().remaining > 0) {
            --inflight.front().remaining;
        }
        if (inflight.front().remaining == 0) {
            inflight.pop_front();
            ++completed;
            resolve();
        }
    }

    void deliver(std::string_view channel, std::string_view payload) {
        if (!on_message || closed)
            return;
        try {
            on_message(channel, payload);
        } catch (...) {
        }
    }

    static bool is(const reply& r, std::string_view s) {
        return r.type == reply::kind::string && r.str.size() == s.size() &&
               std::equal(s.begin(), s.end(), r.str.begin(),
                          [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b); });
    }

    /// Shard channels the cluster moved away from this node: out of the set, and the owner told.
    void shard_lost(std::vector<std::string> names) {
        for (const auto& n : names)
            shard_channels.erase(n);
        if (!on_shard_lost || closed)
            return;
        try {
            on_shard_lost(std::move(names));
        } catch (...) {
        }
    }

    /// True when a `sunsubscribe` reply answers the oldest command in flight: an SUNSUBSCRIBE of the same
    /// channel. Another channel's is pushed by the node (its slot moved), even while ours is in flight.
    bool answers_oldest_sunsubscribe(const std::vector<reply>& e) const {
        if (inflight.empty() || inflight.front().what != op::sunsubscribe)
            return false;
        const auto& names = inflight.front().names;
        return e.size() >= 2 && e[1].type == reply::kind::string &&
               std::find(names.begin(), names.end(), e[1].str) != names.end();
    }

    /// One reply from the session's reader: a message, or a confirmation. Never ends the session.
    std::error_code take(const reply& r) {
        if (r.type == reply::kind::error) {
            // A cluster node redirecting an SSUBSCRIBE (the channel is lost here: its owner is told) or an
            // SUNSUBSCRIBE (nothing to give up here) is not a refusal.
            if (!inflight.empty() &&
                (inflight.front().what == op::ssubscribe || inflight.front().what == op::sunsubscribe) &&
                (parse_redirect(r.str, {}) || is_cluster_unavailable(r.str))) {
                auto names = std::move(inflight.front().names);
                const bool subscribing = inflight.front().what == op::ssubscribe;
                inflight.pop_front();
                ++completed;
                if (subscribing && !names.empty())
                    shard_lost(std::move(names));
                resolve();
                return {};
            }
            SIO_LOG(adapter, warning, "redis refused a subscription: ", r.str);
            confirmed(true);
            return {};
        }
        if (r.type != reply::kind::array || r.elements.empty())
            return {};
        const auto& e = r.elements;
        if (is(e[0], "message") || is(e[0], "smessage")) {
            if (e.size() >= 3)
                deliver(e[1].str, e[2].str);
        } else if (is(e[0], "pmessage")) {
            if (e.size() >= 4)
                deliver(e[2].str, e[3].str);
        } else if (is(e[0], "sunsubscribe") && !answers_oldest_sunsubscribe(e)) {
            // Not an answer: the node no longer serves the channel's slot (resharding, failover).
            if (e.size() >= 2 && e[1].type == reply::kind::string)
                shard_lost({e[1].str});
        } else if (is(e[0], "subscribe") || is(e[0], "psubscribe") || is(e[0], "unsubscribe") ||
                   is(e[0], "punsubscribe") || is(e[0], "ssubscribe") || is(e[0], "sunsubscribe")) {
            confirmed(false);
        }
        // anything else ("pong", ...) is ignored
        return {};
    }

    void shutdown() {
        if (!mark_closed())
            return;
        backoff.cancel();
        fail_waiters(errc::closed);
    }

    struct run_done {
        std::shared_ptr<impl> self;
        void operator()(std::exception_ptr e) const {
            // Only an allocation failure gets here; the connection cannot go on.
            if (e) {
                if (auto s = self->current) // a copy: session_ended resets `current`
                    self->session_ended(s, std::make_error_code(std::errc::not_enough_memory));
                self->closed = true;
                self->shutdown();
            }
        }
    };

    /// Connects, reads until the connection is lost, waits, again; until closed.
    static net::awaitable<void> run(std::shared_ptr<impl> self) {
        while (self->st != state::closed) {
            auto s = std::make_shared<session>(self->strand, self->ep);
            self->current = s;
            self->st = state::connecting;
            co_await run_session(self, s, false);
            if (self->st == state::closed)
                break;
            self->backoff.expires_after(self->delay);
            self->delay = next_delay(self->delay, self->ep);
            co_await self->backoff.async_wait(net::as_tuple(net::use_awaitable));
        }
    }
};

subscriber_connection::subscriber_connection(net::any_io_executor ex, endpoint ep, message_handler on_message,
                                             state_handler on_state, shard_lost_handler on_shard_lost)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(ep), std::move(on_message), std::move(on_state),
                                   std::move(on_shard_lost))) {
    impl_->start();
}

subscriber_connection::~subscriber_connection() {
    close();
}

void subscriber_connection::subscribe(std::vector<std::string> channels) {
    impl_->post_change(impl::op::subscribe, std::move(channels));
}

void subscriber_connection::psubscribe(std::vector<std::string> patterns) {
    impl_->post_change(impl::op::psubscribe, std::move(patterns));
}

void subscriber_connection::ssubscribe(std::vector<std::string> channels) {
    impl_->post_change(impl::op::ssubscribe, std::move(channels));
}

void subscriber_connection::sunsubscribe(std::vector<std::string> channels) {
    impl_->post_change(impl::op::sunsubscribe, std::move(channels));
}

void subscriber_connection::unsubscribe(std::vector<std::string> channels) {
    impl_->post_change(impl::op::unsubscribe, std::move(channels));
}

void subscriber_connection::punsubscribe(std::vector<std::string> patterns) {
    impl_->post_change(impl::op::punsubscribe, std::move(patterns));
}

net::awaitable<std::error_code> subscriber_connection::synced() {
    auto self = impl_;
    if (self->closed)
        co_return make_error_code(errc::closed);
    auto ch = std::make_shared<impl::sync_channel>(co_await net::this_coro::executor, 1);
    net::post(self->strand, [self, ch]() mutable { self->add_sync(std::move(ch)); });
    auto [ec, result] = co_await ch->async_receive(net::as_tuple(net::use_awaitable));
    if (ec)
        co_return std::error_code(ec);
    co_return result;
}

bool subscriber_connection::connected() const noexcept {
    return impl_->connected();
}

void subscriber_connection::close() {
    close_connection(impl_);
}

} // namespace sio::redis_detail
