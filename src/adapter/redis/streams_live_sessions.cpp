// The streams adapter's crash-safe sessions (see streams_live_sessions.hpp).
#include "streams_live_sessions.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "../../log.hpp"
#include "streams_codec.hpp"
#include "streams_link.hpp"

namespace sio::streams_detail {

namespace net = boost::asio;
using redis_detail::reply;
using redis_detail::words;

namespace {

/// 16 random hex characters: this server's id as the owner of its records.
std::string random_owner() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(16, '0');
    for (char& c : out)
        c = hex[rng() % 16];
    return out;
}

std::string ms(std::chrono::milliseconds d) {
    return std::to_string(std::max<std::int64_t>(1, d.count()));
}

/// Takes a record when its owner is dead, in one step. KEYS[1]: the record; ARGV[1]: the owner keys'
/// prefix, ARGV[2]: the seen keys' prefix. Returns 0 (no record), {1, the owner key's PTTL} (owner alive),
/// 2 (owner dead for too long: deleted) or the record (deleted).
constexpr const char* claim_script = "local owner = redis.call('HGET', KEYS[1], 'owner') "
                                     "if not owner then return 0 end "
                                     "if redis.call('EXISTS', ARGV[1] .. owner) == 1 then "
                                     "return {1, redis.call('PTTL', ARGV[1] .. owner)} end "
                                     "local record = redis.call('HGET', KEYS[1], 'session') "
                                     "redis.call('DEL', KEYS[1]) "
                                     "if redis.call('EXISTS', ARGV[2] .. owner) == 0 then return 2 end "
                                     "if not record then return 0 end "
                                     "return record";

} // namespace

namespace {

/// The options with intervals the writer can keep (a 0 would make it spin).
redis_streams_crash_safe_sessions sane(redis_streams_crash_safe_sessions o) {
    o.write_interval = std::max<std::chrono::milliseconds>(o.write_interval, std::chrono::milliseconds(10));
    o.owner_timeout = std::max<std::chrono::milliseconds>(o.owner_timeout, 3 * o.write_interval);
    o.data_check_interval = std::max<std::chrono::milliseconds>(o.data_check_interval, {});
    return o;
}

/// Deletes a record that `ARGV[1]` owns.
constexpr const char* delete_script = "if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then "
                                      "return redis.call('DEL', KEYS[1]) end return 0";

} // namespace

live_sessions::live_sessions(redis_streams_crash_safe_sessions options, commands_fn commands)
    : options_(sane(std::move(options))), commands_(std::move(commands)), owner_(random_owner()) {}

std::chrono::milliseconds live_sessions::record_ttl() const {
    // Outlives the owner's last refresh by max_disconnection (the refresh comes at most max_disconnection
    // plus a data check after the last write).
    return 2 * max_disconnection_ + options_.owner_timeout + options_.data_check_interval +
           options_.write_interval;
}

void live_sessions::attach(const net::any_io_executor& ex, std::chrono::milliseconds max_disconnection) {
    std::lock_guard lock(mutex_);
    if (users_++ > 0 || stopped_)
        return;
    max_disconnection_ = max_disconnection;
    strand_.emplace(net::make_strand(ex));
    timer_ = std::make_shared<net::steady_timer>(*strand_);
    net::co_spawn(*strand_, run(shared_from_this()), net::detached);
}

void live_sessions::detach() {
    std::shared_ptr<net::steady_timer> timer;
    decltype(entries_) dropped; // the sockets they hold are released outside the lock
    {
        std::lock_guard lock(mutex_);
        if (users_ == 0 || --users_ > 0)
            return;
        stopped_ = true;
        timer = timer_;
        dropped.swap(entries_);
    }
    if (timer)
        net::post(timer->get_executor(), [timer] { timer->cancel(); });
    if (auto c = commands_())
        (void)c->send(words("DEL", owner_key(owner_)));
}

void live_sessions::opened(const socket& s, const std::string& pid) {
    auto e = std::make_shared<entry>();
    e->s = s;
    e->pid = pid;
    std::lock_guard lock(mutex_);
    if (!stopped_)
        entries_[s.id()] = std::move(e);
}

void live_sessions::touched(const std::string& sid) {
    std::lock_guard lock(mutex_);
    if (const auto it = entries_.find(sid); it != entries_.end())
        it->second->dirty = true;
}

void live_sessions::closed(const socket& s) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(s.id());
    if (it == entries_.end() || !(it->second->s == s))
        return;
    const auto e = std::move(it->second);
    entries_.erase(it);
    e->closed = true;
    // After the session's save in Node's key (same connection, same thread: in this order); only while
    // this server owns it (another may have taken it, during a Redis outage longer than owner_timeout).
    if (e->written)
        if (auto c = commands_())
            (void)c->send(words("EVAL", std::string(delete_script), "1", record_key(e->pid), owner_));
}

net::awaitable<void> live_sessions::run(std::shared_ptr<live_sessions> self) {
    for (;;) {
        {
            std::lock_guard lock(self->mutex_);
            if (self->stopped_)
                co_return;
        }
        self->tick(clock::now());
        self->timer_->expires_after(self->options_.write_interval);
        co_await self->timer_->async_wait(net::as_tuple(net::use_awaitable));
    }
}

void live_sessions::heartbeat() {
    auto c = commands_();
    if (!c)
        return;
    // Alive for owner_timeout; its records restorable for max_disconnection after the last beat.
    (void)c->send(words("SET", owner_key(owner_), "1", "PX", ms(options_.owner_timeout)));
    (void)c->send(words("SET", seen_key(owner_), "1", "PX", ms(max_disconnection_)));
}

void live_sessions::tick(clock::time_point now) {
    if (now >= next_heartbeat_) {
        heartbeat();
        next_heartbeat_ = now + std::max<std::chrono::milliseconds>(std::chrono::milliseconds(1),
                                                                    options_.owner_timeout / 3);
    }
    bool check_all = false;
    if (options_.data_check_interval.count() > 0 && now >= next_data_check_) {
        check_all = next_data_check_ != clock::time_point{}; // not at the first tick: nothing written yet
        next_data_check_ = now + options_.data_check_interval;
    }
    std::vector<std::shared_ptr<entry>> due;
    {
        std::lock_guard lock(mutex_);
        for (auto& [sid, e] : entries_)
            if (e->dirty || check_all || (e->written && now - e->last_write > max_disconnection_)) {
                e->dirty = false;
                due.push_back(e);
            }
    }
    // `data()` belongs to the socket's strand: read there.
    for (auto& e : due)
        net::dispatch(e->s.executor(), [self = shared_from_this(), e] { self->snapshot(e); });
}

void live_sessions::snapshot(const std::shared_ptr<entry>& e) {
    {
        std::lock_guard lock(mutex_);
        if (e->closed)
            return;
    }
    if (!e->s.connected())
        return;
    const std::string record = encode_session(recovery_session{e->s.id(), e->pid, e->s.rooms(), e->s.data()});
    const std::size_t hash = std::hash<std::string>{}(record);
    const auto now = clock::now();
    std::lock_guard lock(mutex_); // held while sending: `closed` deletes after this write, not before
    if (e->closed || stopped_)
        return;
    auto c = commands_();
    if (!c)
        return;
    const std::string key = record_key(e->pid);
    // A write or refresh Redis did not apply (refused, lost with its connection, or a record gone with a
    // Redis restart: PEXPIRE answers 0) is made again in full at the next tick. The answer may come at
    // once on this thread, under mutex_: it is handled on the writer's strand.
    auto check = [weak = weak_from_this(), e](bool zero_is_lost) {
        return [weak, e, zero_is_lost](std::error_code ec, const reply& r) {
            if (!ec && r.type != reply::kind::error &&
                !(zero_is_lost && r.type == reply::kind::integer && r.integer == 0))
                return;
            if (auto self = weak.lock(); self && self->strand_)
                net::post(*self->strand_, [self, e] {
                    std::lock_guard lock(self->mutex_);
                    if (!e->closed) {
                        e->written_hash = 0;
                        e->dirty = true;
                    }
                });
        };
    };
    if (!e->written || hash != e->written_hash) {
        e->written = true; // from now on, a close deletes whatever reached Redis
        e->written_hash = hash;
        c->command(words("HSET", key, "owner", owner_, "session", record), check(false)); // 0: fields updated
    } else if (now - e->last_write <= max_disconnection_)
        return;
    e->last_write = now;
    c->command(words("PEXPIRE", key, ms(record_ttl())), check(true)); // 0: no such key
}

net::awaitable<live_sessions::claim_result> live_sessions::claim(std::string pid) {
    claim_result out;
    auto c = commands_();
    if (!c) {
        out.outcome = claim_outcome::failed;
        co_return out;
    }
    auto [ec, r] = co_await c->command(words("EVAL", std::string(claim_script), "1", record_key(pid),
                                             options_.key_prefix + "owner:", options_.key_prefix + "seen:"));
    if (ec || r.type == reply::kind::error) {
        SIO_LOG(adapter, debug, "redis streams adapter: claiming the live session of a pid failed: ",
                ec ? ec.message() : r.str);
        out.outcome = claim_outcome::failed;
    } else if (r.type == reply::kind::string) {
        out.outcome = claim_outcome::claimed;
        out.record = std::move(r.str);
    } else if (r.type == reply::kind::array && r.elements.size() == 2 &&
               r.elements[1].type == reply::kind::integer) {
        out.outcome = claim_outcome::owner_alive;
        out.owner_ttl = std::chrono::milliseconds(std::max<std::int64_t>(0, r.elements[1].integer));
    } else if (r.type == reply::kind::integer && r.integer == 2)
        out.outcome = claim_outcome::expired;
    co_return out;
}

std::shared_ptr<live_sessions> make_live_sessions(const std::shared_ptr<streams_link>& link) {
    if (!link->options().crash_safe_sessions.enabled)
        return nullptr;
    std::weak_ptr<streams_link> weak = link;
    return std::make_shared<live_sessions>(link->options().crash_safe_sessions,
                                           [weak]() -> std::shared_ptr<redis_detail::command_connection> {
                                               auto l = weak.lock();
                                               return l ? l->commands() : nullptr;
                                           });
}

bool attach_live_sessions(adapter& a, const std::shared_ptr<live_sessions>& live,
                          const connection_state_recovery_options& options) {
    std::weak_ptr<live_sessions> weak = live;
    a.on_join_room([weak](const std::string&, const std::string& sid) {
        if (auto l = weak.lock())
            l->touched(sid);
    });
    a.on_leave_room([weak](const std::string&, const std::string& sid) {
        if (auto l = weak.lock())
            l->touched(sid);
    });
    live->attach(a.host().executor(), options.max_disconnection_duration);
    return true;
}

net::awaitable<reply> claim_live_session(std::shared_ptr<live_sessions> live, std::string pid,
                                         std::string nsp) {
    auto claimed = co_await live->claim(pid);
    if (claimed.outcome == live_sessions::claim_outcome::owner_alive &&
        claimed.owner_ttl > decltype(claimed.owner_ttl){} && claimed.owner_ttl <= live->owner_timeout()) {
        // A crashed server's clients see their connections reset at once and come back sooner than its
        // owner key expires: wait once for that expiry and ask again. A live owner refreshes its key every
        // third of owner_timeout, so it still keeps its sessions.
        net::steady_timer wait(co_await net::this_coro::executor);
        wait.expires_after(claimed.owner_ttl + std::chrono::milliseconds(20));
        co_await wait.async_wait(net::as_tuple(net::use_awaitable));
        claimed = co_await live->claim(pid);
    }
    const auto outcome = claimed.outcome;
    auto& record = claimed.record;
    reply out;
    switch (outcome) {
    case live_sessions::claim_outcome::claimed:
        SIO_LOG(adapter, debug, "redis streams adapter: a session on ", nsp,
                " is taken from a server that stopped (crash-safe sessions)");
        out.type = reply::kind::string;
        out.str = std::move(record);
        break;
    case live_sessions::claim_outcome::owner_alive:
        SIO_LOG(adapter, debug, "redis streams adapter: a session on ", nsp,
                " is still connected to a live server: not taken");
        break;
    case live_sessions::claim_outcome::expired:
        SIO_LOG(adapter, debug, "redis streams adapter: a session on ", nsp,
                " belonged to a server gone longer than max_disconnection_duration");
        break;
    case live_sessions::claim_outcome::absent:
    case live_sessions::claim_outcome::failed:
        break;
    }
    co_return out;
}

} // namespace sio::streams_detail
