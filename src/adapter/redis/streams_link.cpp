// The link of one server to Redis for the streams adapter (see streams_link.hpp): the shared connections,
// the stream readers and the routing of what arrives.
#include "streams_link.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "../../log.hpp"
#include "connection_core.hpp"
#include "endpoint_of.hpp"

namespace sio::streams_detail {

namespace net = boost::asio;
using redis_detail::reply;
using redis_detail::words;

/// One stream's reading connection and where it is in the stream.
struct streams_link::reader {
    reader(net::any_io_executor ex, std::string name, redis_detail::endpoint ep)
        : strand(net::make_strand(ex)), stream(std::move(name)),
          conn(std::make_shared<redis_detail::command_connection>(strand, std::move(ep))), timer(strand) {}
    net::strand<net::any_io_executor> strand;
    const std::string stream;
    const std::shared_ptr<redis_detail::command_connection> conn;
    net::steady_timer timer;     // the back-off wait; strand only
    std::string last;            // the last entry id handed over; empty until the start is known; strand only
    std::size_t count = 0;       // entries per XREAD (fewer after a reply too large); strand only
    bool skip_next = false;      // the entry after `last` is too large alone: skip it; strand only
    std::string judged_readable; // the id a skip found readable (a second time, it is skipped); strand only
    std::atomic<bool> stopped{false};
    std::atomic<bool> positioned{false};
    std::mutex position_mutex;
    std::string position; // `last` once its entry was handed over (under position_mutex)
    void publish_position() {
        std::lock_guard lock(position_mutex);
        position = last;
    }
    int users = 0; // adapters on this stream; under the link's mutex
};

namespace {

std::size_t digits(std::size_t n) {
    std::size_t d = 1;
    while (n >= 10) {
        n /= 10;
        ++d;
    }
    return d;
}

/// `$<n>\r\n<n bytes>\r\n`
std::size_t bulk_bytes(std::size_t n) {
    return 1 + digits(n) + 2 + n + 2;
}

/// About the bytes of `r` on the wire.
std::size_t wire_bytes(const reply& r) {
    if (r.type != reply::kind::array)
        return bulk_bytes(r.str.size());
    std::size_t n = 1 + digits(r.elements.size()) + 2;
    for (const auto& e : r.elements)
        n += wire_bytes(e);
    return n;
}

} // namespace

std::size_t next_read_count(std::size_t count, std::size_t max_count, std::size_t entries,
                            std::size_t reply_bytes, std::size_t max_reply_bytes) {
    max_count = std::max<std::size_t>(1, max_count);
    count = std::clamp<std::size_t>(count, 1, max_count);
    if (entries >= count && reply_bytes <= max_reply_bytes / 4)
        return std::min(max_count, count * 2);
    return count;
}

bool entry_readable(std::size_t stream_bytes, std::size_t id_bytes, std::size_t fields,
                    std::size_t fields_wire_bytes, std::size_t max_reply_bytes,
                    std::size_t max_reply_elements) {
    // *1 [ *2 [ stream, *1 [ *2 [ id, *<2n> [ fields... ] ] ] ] ]
    const std::size_t bytes =
        4 * 4 + bulk_bytes(stream_bytes) + bulk_bytes(id_bytes) + 1 + digits(fields) + 2 + fields_wire_bytes;
    const std::size_t elements = 1 + 2 + 1 + 2 + fields;
    return bytes <= max_reply_bytes && elements <= max_reply_elements;
}

redis_detail::endpoint streams_link::endpoint_of(std::chrono::milliseconds extra_timeout) const {
    auto ep = redis_detail::endpoint_of(options_);
    if (ep.command_timeout.count() != 0)
        ep.command_timeout += extra_timeout;
    return ep;
}

std::shared_ptr<streams_link::endpoint> streams_link::attach(streams_receiver* target, const std::string& nsp,
                                                             const std::string& stream,
                                                             std::vector<std::string> channels,
                                                             const net::any_io_executor& ex) {
    auto e = std::make_shared<endpoint>();
    e->target = target;
    e->nsp = nsp;
    e->stream = stream;
    e->channels = std::move(channels);
    std::shared_ptr<redis_detail::subscriber_connection> sub;
    std::vector<std::string> fresh;
    std::shared_ptr<reader> start;
    {
        std::lock_guard lock(mutex_);
        if (!commands_)
            open_connections(ex);
        endpoints_.push_back(e);
        sub = subscriber_;
        for (const auto& c : e->channels)
            if (channels_[c]++ == 0)
                fresh.push_back(c);
        auto& r = readers_[stream];
        if (!r) {
            r = std::make_shared<reader>(ex, stream, endpoint_of(options_.block_time));
            start = r;
        }
        ++r->users;
    }
    if (!fresh.empty()) {
        if (options_.use_sharded_pubsub)
            sub->ssubscribe(std::move(fresh));
        else
            sub->subscribe(std::move(fresh));
    }
    if (start)
        net::co_spawn(start->strand, read_loop(shared_from_this(), start), net::detached);
    return e;
}

void streams_link::detach(const std::shared_ptr<endpoint>& e) {
    {
        std::lock_guard lock(e->mutex);
        e->target = nullptr;
    }
    std::shared_ptr<redis_detail::subscriber_connection> sub;
    std::shared_ptr<redis_detail::command_connection> commands;
    std::shared_ptr<redis_detail::command_connection> restores;
    std::vector<std::string> gone;
    std::vector<std::shared_ptr<reader>> stop;
    {
        std::lock_guard lock(mutex_);
        const auto it = std::find(endpoints_.begin(), endpoints_.end(), e);
        if (it == endpoints_.end())
            return;
        endpoints_.erase(it);
        for (const auto& c : e->channels)
            if (--channels_[c] == 0) {
                channels_.erase(c);
                gone.push_back(c);
            }
        if (auto r = readers_.find(e->stream); r != readers_.end() && --r->second->users == 0) {
            stop.push_back(r->second);
            readers_.erase(r);
        }
        sub = subscriber_;
        if (endpoints_.empty()) {
            commands = std::move(commands_);
            restores = std::move(restores_);
            subscriber_.reset();
        }
    }
    wake();
    for (auto& r : stop) {
        r->stopped = true;
        r->conn->close();
        net::post(r->strand, [r] { r->timer.cancel(); });
    }
    if (commands) {
        commands->close();
        if (restores)
            restores->close();
        if (sub)
            sub->close();
    } else if (sub && !gone.empty()) {
        if (options_.use_sharded_pubsub)
            sub->sunsubscribe(std::move(gone));
        else
            sub->unsubscribe(std::move(gone));
    }
}

void streams_link::close_all() {
    std::shared_ptr<redis_detail::command_connection> commands;
    std::shared_ptr<redis_detail::command_connection> restores;
    std::shared_ptr<redis_detail::subscriber_connection> sub;
    std::map<std::string, std::shared_ptr<reader>> readers;
    {
        std::lock_guard lock(mutex_);
        commands = std::move(commands_);
        restores = std::move(restores_);
        sub = std::move(subscriber_);
        readers.swap(readers_);
    }
    for (auto& [name, r] : readers) {
        r->stopped = true;
        r->conn->close();
    }
    if (commands)
        commands->close();
    if (restores)
        restores->close();
    if (sub)
        sub->close();
}

void streams_link::open_connections(const net::any_io_executor& ex) {
    // Under mutex_.
    commands_ = std::make_shared<redis_detail::command_connection>(ex, endpoint_of({}));
    restores_ = std::make_shared<redis_detail::command_connection>(ex, endpoint_of({}));
    std::weak_ptr<streams_link> weak = weak_from_this();
    subscriber_ = std::make_shared<redis_detail::subscriber_connection>(
        ex, endpoint_of({}),
        [weak](std::string_view channel, std::string_view payload) {
            if (auto self = weak.lock())
                self->on_pubsub(channel, payload);
        },
        [weak, state = options_.on_subscriber_state](bool up) {
            if (auto self = weak.lock(); self && up)
                self->wake();
            if (state)
                state(up);
        });
}

bool streams_link::positioned(const std::string& stream) {
    std::lock_guard lock(mutex_);
    const auto it = readers_.find(stream);
    return it != readers_.end() && it->second->positioned.load();
}

bool streams_link::connected(const std::string& stream) {
    std::lock_guard lock(mutex_);
    const auto it = readers_.find(stream);
    return subscriber_ && subscriber_->connected() && it != readers_.end() && it->second->positioned.load() &&
           it->second->conn->connected();
}

std::string streams_link::reader_position(const std::string& stream) {
    std::shared_ptr<reader> r;
    {
        std::lock_guard lock(mutex_);
        const auto it = readers_.find(stream);
        if (it == readers_.end())
            return {};
        r = it->second;
    }
    std::lock_guard lock(r->position_mutex);
    return r->position;
}

std::shared_ptr<streams_link::wake_channel> streams_link::wait_change(const net::any_io_executor& ex,
                                                                      std::uint64_t seen) {
    std::lock_guard lock(mutex_);
    if (changes_ != seen)
        return nullptr;
    auto ch = std::make_shared<wake_channel>(ex, 1);
    waiters_.push_back(ch);
    return ch;
}

void streams_link::wake() {
    std::vector<std::shared_ptr<wake_channel>> waiters;
    {
        std::lock_guard lock(mutex_);
        ++changes_;
        waiters.swap(waiters_);
    }
    for (auto& w : waiters)
        w->try_send(boost::system::error_code{}, true);
}

void streams_link::log_dropped(std::string_view where, std::string_view why) {
    const auto total = ++dropped_;
    {
        // Rate-limited: a flood of hostile messages costs a few lines, not a line each.
        std::lock_guard lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        if (now - drop_log_window_ > drop_log_period) {
            drop_log_window_ = now;
            drop_log_lines_ = 0;
        }
        if (++drop_log_lines_ > max_drop_log_lines)
            return;
    }
    SIO_LOG(adapter, warning, "redis streams adapter: dropped a message from ", where, ": ", why, " (", total,
            " dropped so far)");
}

void streams_link::on_pubsub(std::string_view channel, std::string_view payload) {
    route(decode_envelope(payload), nullptr, channel);
}

void streams_link::on_entry(const std::string& id,
                            const std::vector<std::pair<std::string_view, std::string_view>>& fields) {
    route(decode_entry(fields), &id, {});
}

void streams_link::route(decoded_message&& d, const std::string* entry_id, std::string_view channel) {
    const std::string_view where = entry_id ? std::string_view("the stream") : channel;
    if (d.result == decoded_message::outcome::dropped) {
        log_dropped(where, d.why);
        return;
    }
    if (d.result != decoded_message::outcome::message)
        return;
    std::shared_ptr<endpoint> e;
    {
        std::lock_guard lock(mutex_);
        for (auto it = endpoints_.rbegin(); it != endpoints_.rend(); ++it)
            if ((*it)->nsp == d.nsp) {
                e = *it;
                break;
            }
    }
    if (!e)
        return; // a namespace this server does not have
    // A pub/sub message counts only on one of its namespace's channels.
    if (!entry_id && std::find(e->channels.begin(), e->channels.end(), channel) == e->channels.end()) {
        log_dropped(where, "message for another namespace's channel");
        return;
    }
    std::shared_ptr<const void> anchor;
    streams_receiver* target = nullptr;
    {
        std::lock_guard lock(e->mutex);
        anchor = e->anchor.lock();
        target = anchor ? e->target : nullptr;
    }
    if (!target)
        return;
    if (entry_id)
        target->stream_message(std::move(d.message), *entry_id);
    else
        target->pubsub_message(std::move(d.message), channel);
}

namespace {

/// Waits `delay` on `timer` (cancelled: at once), then doubles `delay` up to `max`.
net::awaitable<void> wait_for(net::steady_timer& timer, std::chrono::milliseconds& delay,
                              std::chrono::milliseconds max) {
    timer.expires_after(delay);
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    delay = std::min(delay * 2, max);
}

/// The field/value pairs of an entry's field array.
std::vector<std::pair<std::string_view, std::string_view>> pairs_of(const reply& fields) {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    if (fields.type != reply::kind::array)
        return out;
    const auto& f = fields.elements;
    for (std::size_t i = 0; i + 1 < f.size(); i += 2)
        if (f[i].type == reply::kind::string && f[i + 1].type == reply::kind::string)
            out.emplace_back(f[i].str, f[i + 1].str);
    return out;
}

} // namespace

net::awaitable<void> streams_link::read_loop(std::shared_ptr<streams_link> self, std::shared_ptr<reader> r) {
    const auto& o = self->options_;
    auto delay = o.reconnect_min;
    while (!r->stopped) {
        bool failed = false;
        try {
            co_await read_entries(self, r);
        } catch (const std::exception& e) {
            failed = true;
            SIO_LOG(adapter, error, "redis streams adapter: the reader of ", r->stream, " failed (", e.what(),
                    "); it starts again after ", r->last.empty() ? std::string("the stream's end") : r->last);
        } catch (...) {
            failed = true;
            SIO_LOG(adapter, error, "redis streams adapter: the reader of ", r->stream,
                    " failed; it starts again after ",
                    r->last.empty() ? std::string("the stream's end") : r->last);
        }
        if (!failed || r->stopped)
            break;
        // The entry being handed over when it failed is behind `last`: the next run goes on after it.
        co_await wait_for(r->timer, delay, o.reconnect_max);
    }
}

net::awaitable<bool> streams_link::skip_entry(std::shared_ptr<streams_link> self, std::shared_ptr<reader> r) {
    // The id, the number of field/value strings and their size on the wire, computed by a script: the
    // entry itself may not fit in a reply, nor may one number per field.
    static const std::string script = "local e = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', 1) "
                                      "if not e[1] then return false end "
                                      "local n, bytes = 0, 0 "
                                      "for _, v in ipairs(e[1][2]) do "
                                      "n = n + 1 bytes = bytes + #v + #tostring(#v) + 5 end "
                                      "return {e[1][1], n, bytes}";
    const auto next = next_offset(r->last);
    if (!next)
        co_return false;
    auto [ec, rep] = co_await r->conn->command(words("EVAL", script, "1", r->stream, *next));
    if (ec) { // the connection: tried again after the back-off
        SIO_LOG(adapter, debug, "redis streams adapter: reading the id of an entry of ", r->stream,
                " failed: ", ec);
        co_return false;
    }
    if (rep.type == reply::kind::nil)
        co_return true; // gone meanwhile (trimmed): nothing to skip
    if (rep.type != reply::kind::array || rep.elements.size() != 3 || !valid_offset(rep.elements[0].str)) {
        SIO_LOG(adapter, error, "redis streams adapter: an entry of ", r->stream, " after ", r->last,
                " is larger than max_reply_bytes and its id could not be read (",
                rep.type == reply::kind::error ? rep.str : std::string("odd reply"), "); trying again");
        co_return false;
    }
    const auto size = [&](std::size_t i) {
        return static_cast<std::size_t>(std::max<std::int64_t>(0, rep.elements[i].integer));
    };
    const auto ep = redis_detail::sanitize(self->endpoint_of({}));
    // Readable: the entry after `last` now is another one (the large one was trimmed); it is read as usual.
    // The same id judged readable twice is skipped all the same: the reader's other limits refuse it.
    if (entry_readable(r->stream.size(), rep.elements[0].str.size(), size(1), size(2), ep.max_reply_bytes,
                       ep.max_reply_elements) &&
        r->judged_readable != rep.elements[0].str) {
        r->judged_readable = rep.elements[0].str;
        co_return true;
    }
    r->judged_readable.clear();
    rep.str = rep.elements[0].str;
    self->log_dropped(r->stream, "entry " + rep.str + " is larger than max_reply_bytes (skipped)");
    r->last = rep.str;
    r->publish_position();
    co_return true;
}

net::awaitable<void> streams_link::read_entries(std::shared_ptr<streams_link> self,
                                                std::shared_ptr<reader> r) {
    const auto& o = self->options_;
    auto delay = o.reconnect_min;
    const std::size_t max_count = std::max<std::size_t>(1, o.read_count);
    const std::string block = std::to_string(std::max<std::int64_t>(1, o.block_time.count()));
    while (!r->stopped) {
        if (r->last.empty()) {
            // Where the stream ends now: from there on, nothing is missed (XREAD `$` would lose what is
            // added between a failure and the next call).
            auto [ec, rep] = co_await r->conn->command(words("XREVRANGE", r->stream, "+", "-", "COUNT", "1"));
            if (r->stopped)
                break;
            if (ec || rep.type != reply::kind::array) {
                if (!ec)
                    self->log_dropped(r->stream,
                                      rep.type == reply::kind::error ? rep.str : "odd XREVRANGE reply");
                co_await wait_for(r->timer, delay, o.reconnect_max);
                continue;
            }
            std::string last = "0-0";
            if (!rep.elements.empty() && rep.elements[0].type == reply::kind::array &&
                !rep.elements[0].elements.empty() && valid_offset(rep.elements[0].elements[0].str))
                last = rep.elements[0].elements[0].str;
            r->last = std::move(last);
            r->publish_position();
            r->positioned = true;
            self->wake();
            delay = o.reconnect_min;
        }
        if (r->skip_next) {
            // After a reply too large, on a connection dialled again.
            if (co_await skip_entry(self, r)) {
                r->skip_next = false;
                delay = o.reconnect_min;
            } else {
                co_await wait_for(r->timer, delay, o.reconnect_max);
                continue;
            }
        }
        if (r->count == 0 || r->count > max_count)
            r->count = max_count;
        auto [ec, rep] = co_await r->conn->command(
            words("XREAD", "COUNT", std::to_string(r->count), "BLOCK", block, "STREAMS", r->stream, r->last));
        if (r->stopped)
            break;
        if (ec == redis_detail::errc::reply_too_large) {
            // A batch larger than max_reply_bytes: fewer entries at a time; one entry alone too large is
            // skipped (it can never be read), or the reader would be stuck on it for ever.
            if (r->count > 1) {
                r->count /= 2;
                SIO_LOG(adapter, debug, "redis streams adapter: a batch of ", r->stream,
                        " exceeds max_reply_bytes; reading ", r->count, " entries at a time");
            } else {
                r->skip_next = true;
            }
            co_await wait_for(r->timer, delay, o.reconnect_max); // the connection dials again
            continue;
        }
        if (ec) {
            SIO_LOG(adapter, debug, "redis streams adapter: reading ", r->stream, " failed: ", ec,
                    "; again from ", r->last);
            co_await wait_for(r->timer, delay, o.reconnect_max);
            continue;
        }
        if (rep.type == reply::kind::nil)
            continue; // nothing within the block time
        if (rep.type != reply::kind::array) {
            self->log_dropped(r->stream, rep.type == reply::kind::error ? rep.str : "odd XREAD reply");
            co_await wait_for(r->timer, delay, o.reconnect_max);
            continue;
        }
        delay = o.reconnect_min;
        std::size_t entries = 0;
        for (const auto& s : rep.elements)
            if (s.type == reply::kind::array && s.elements.size() >= 2 &&
                s.elements[1].type == reply::kind::array)
                entries += s.elements[1].elements.size();
        r->count =
            next_read_count(r->count, max_count, entries, wire_bytes(rep), self->options_.max_reply_bytes);
        for (const auto& s : rep.elements) {
            if (s.type != reply::kind::array || s.elements.size() < 2 ||
                s.elements[1].type != reply::kind::array)
                continue;
            for (const auto& entry : s.elements[1].elements) {
                if (r->stopped)
                    co_return;
                if (entry.type != reply::kind::array || entry.elements.size() < 2 ||
                    !valid_offset(entry.elements[0].str))
                    continue;
                r->last = entry.elements[0].str;
                if (auto* hook = test_hooks.before_entry.load())
                    hook(r->last);
                self->on_entry(r->last, pairs_of(entry.elements[1]));
                r->publish_position();
            }
        }
    }
}

} // namespace sio::streams_detail
