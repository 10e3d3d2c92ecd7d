// The command connection: commands pipelined on one session, replies matched in order, a watchdog for
// the oldest unanswered command, a bounded outgoing queue, and the back-off between connection attempts.
// See connection.hpp for the behaviour.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <memory>

#include "../../log.hpp"
#include "connection.hpp"
#include "connection_core.hpp"

namespace sio::redis_detail {

using clock_type = std::chrono::steady_clock;

struct command_connection::impl : connection_core, std::enable_shared_from_this<impl> {
    using reply_channel =
        net::experimental::concurrent_channel<void(boost::system::error_code, std::error_code, reply)>;

    impl(net::any_io_executor ex, endpoint e)
        : connection_core(std::move(ex), std::move(e), state::idle), watchdog(strand) {}

    /// While down: the end of the back-off delay (steady_clock ticks), for send(); 0 otherwise.
    std::atomic<clock_type::rep> down_until{0};
    /// The bytes of commands issued and not written yet (`max_queued_bytes`).
    const std::shared_ptr<queue_budget> queued = std::make_shared<queue_budget>(0);

    /// Who gets a reply: an awaiting coroutine (`channel`), a callback, or nobody (both empty).
    struct completion {
        std::shared_ptr<reply_channel> channel;
        reply_callback callback; ///< runs on the strand
    };

    /// A command written or queued, waiting for its reply.
    struct waiting {
        completion channel;              ///< empty: the reply is dropped
        clock_type::time_point deadline; ///< issued + command_timeout
    };

    // Strand-only.
    std::deque<waiting> pending; ///< in command order
    clock_type::time_point retry_at{};
    net::steady_timer watchdog; ///< the deadline of the oldest pending command
    bool watching = false;      ///< a wait on `watchdog` is outstanding

    static void complete(const completion& c, std::error_code ec, reply r = {}) {
        if (c.channel)
            c.channel->try_send(boost::system::error_code{}, ec, std::move(r));
        else if (c.callback)
            c.callback(ec, std::move(r));
    }

    /// Takes `n` bytes from the queue budget; false when that would exceed `max_queued_bytes`. Any thread.
    bool reserve(std::size_t n) {
        if (ep.max_queued_bytes == 0) {
            queued->fetch_add(n);
            return true;
        }
        std::size_t cur = queued->load();
        do {
            if (n > ep.max_queued_bytes || cur > ep.max_queued_bytes - n)
                return false;
        } while (!queued->compare_exchange_weak(cur, cur + n));
        return true;
    }

    /// A reply too large is the oldest command's: the commands behind it fail as the connection does
    /// (`connection_aborted`: worth trying again), not as if theirs were too large too.
    void fail_pending(std::error_code ec) {
        auto failed = std::move(pending);
        pending.clear();
        const std::error_code behind =
            ec == errc::reply_too_large ? std::make_error_code(std::errc::connection_aborted) : ec;
        for (std::size_t i = 0; i < failed.size(); ++i)
            complete(failed[i].channel, i == 0 ? ec : behind);
    }

    /// `cmd` is counted in `queued` already.
    void enqueue(std::string cmd, completion ch) {
        switch (st) {
        case state::closed:
            queued->fetch_sub(cmd.size());
            complete(ch, errc::closed);
            return;
        case state::down:
            if (clock_type::now() < retry_at) {
                queued->fetch_sub(cmd.size());
                complete(ch, errc::not_connected);
                return;
            }
            start_session();
            break;
        case state::idle:
            start_session();
            break;
        case state::connecting:
        case state::up:
            break;
        }
        const auto deadline = clock_type::now() + ep.command_timeout;
        pending.push_back(waiting{std::move(ch), deadline});
        current->push(std::move(cmd));
        if (st == state::up)
            start_writer(strand, current);
        if (ep.command_timeout.count() > 0 && !watching)
            watch(deadline);
    }

    void watch(clock_type::time_point at) {
        watching = true;
        watchdog.expires_at(at);
        watchdog.async_wait(
            [self = shared_from_this()](boost::system::error_code ec) { self->watchdog_fired(ec); });
    }

    /// The oldest command's deadline may have passed: then the connection is recycled (its commands
    /// fail with `errc::command_timeout`); otherwise the watch goes on for the oldest one now.
    void watchdog_fired(boost::system::error_code ec) {
        watching = false;
        if (ec || st == state::closed || pending.empty())
            return;
        if (clock_type::now() < pending.front().deadline) {
            watch(pending.front().deadline);
            return;
        }
        if (auto s = current) { // a copy: session_ended resets `current`
            SIO_LOG(adapter, warning, "redis command not answered within ", ep.command_timeout,
                    ": closing the connection (", pending.size(), " commands pending)");
            session_ended(s, errc::command_timeout);
        }
    }

    void start_session() {
        st = state::connecting;
        down_until = 0;
        current = std::make_shared<session>(strand, ep, queued);
        net::co_spawn(strand, run_session(shared_from_this(), current, true),
                      session_done{shared_from_this(), current});
    }

    /// The session connected: commands queued meanwhile go out.
    bool session_up(const std::shared_ptr<session>& s) {
        if (!mark_up(s))
            return false;
        if (s->answered) // AUTH / SELECT accepted
            established();
        start_writer(strand, s);
        return true;
    }

    void session_ended(const std::shared_ptr<session>& s, std::error_code ec) {
        const bool was_up = up;
        if (!drop(s, ec))
            return;
        if (st == state::closed)
            return;
        if (was_up)
            SIO_LOG(adapter, warning, "redis connection lost: ", s->error);
        else
            SIO_LOG(adapter, debug, "redis connection failed: ", s->error, ", next attempt in ", delay);
        st = state::down;
        retry_at = clock_type::now() + delay;
        down_until = retry_at.time_since_epoch().count();
        delay = next_delay(delay, ep);
        fail_pending(s->error);
    }

    /// One reply from the session's reader: it belongs to the oldest pending command.
    std::error_code take(reply r) {
        if (pending.empty())
            return errc::protocol_error;
        established();
        auto ch = std::move(pending.front().channel);
        pending.pop_front();
        complete(ch, std::error_code{}, std::move(r));
        return {};
    }

    void shutdown() {
        if (!mark_closed())
            return;
        watchdog.cancel();
        fail_pending(errc::closed);
    }

    struct session_done {
        std::shared_ptr<impl> self;
        std::shared_ptr<session> s;
        void operator()(std::exception_ptr e) const {
            if (e)
                self->session_ended(s, std::make_error_code(std::errc::not_enough_memory));
        }
    };
};

command_connection::command_connection(net::any_io_executor ex, endpoint ep)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(ep))) {}

command_connection::~command_connection() {
    close();
}

net::awaitable<std::pair<std::error_code, reply>> command_connection::command(std::vector<std::string> args) {
    auto self = impl_;
    std::string cmd = format_command(args);
    if (cmd.empty())
        co_return std::make_pair(make_error_code(errc::invalid_command), reply{});
    if (self->closed)
        co_return std::make_pair(make_error_code(errc::closed), reply{});
    if (!self->reserve(cmd.size()))
        co_return std::make_pair(make_error_code(errc::queue_full), reply{});
    auto ch = std::make_shared<impl::reply_channel>(co_await net::this_coro::executor, 1);
    net::dispatch(self->strand, [self, ch, cmd = std::move(cmd)]() mutable {
        self->enqueue(std::move(cmd), impl::completion{std::move(ch), {}});
    });
    auto [ec, result_ec, result] = co_await ch->async_receive(net::as_tuple(net::use_awaitable));
    if (ec)
        co_return std::make_pair(std::error_code(ec), reply{});
    co_return std::make_pair(result_ec, std::move(result));
}

std::error_code command_connection::send(std::vector<std::string> args) {
    auto self = impl_;
    if (self->closed)
        return errc::closed;
    const auto until = self->down_until.load();
    if (until != 0 && clock_type::now().time_since_epoch().count() < until)
        return errc::not_connected;
    std::string cmd = format_command(args);
    if (cmd.empty())
        return errc::invalid_command;
    if (!self->reserve(cmd.size()))
        return errc::queue_full;
    net::dispatch(self->strand, [self, cmd = std::move(cmd)]() mutable {
        self->enqueue(std::move(cmd), impl::completion{});
    });
    return {};
}

void command_connection::command(std::vector<std::string> args, reply_callback on_reply) {
    auto self = impl_;
    std::string cmd = format_command(args);
    if (cmd.empty())
        return on_reply(make_error_code(errc::invalid_command), reply{});
    if (self->closed)
        return on_reply(make_error_code(errc::closed), reply{});
    if (!self->reserve(cmd.size()))
        return on_reply(make_error_code(errc::queue_full), reply{});
    net::dispatch(self->strand, [self, cmd = std::move(cmd), cb = std::move(on_reply)]() mutable {
        self->enqueue(std::move(cmd), impl::completion{nullptr, std::move(cb)});
    });
}

bool command_connection::connected() const noexcept {
    return impl_->connected();
}

void command_connection::close() {
    close_connection(impl_);
}

} // namespace sio::redis_detail
