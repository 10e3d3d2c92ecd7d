// The Redis adapter: cluster_message <-> the classic wire format of @socket.io/redis-adapter 8.3
// (research/cluster-protocol.md §1): broadcasts on `<key>#<nsp>#[<room>#]` as msgpack `[uid, packet, opts]`,
// requests on `<key>-request#<nsp>#` (types 0-9, JSON or msgpack), responses on `<key>-response#<nsp>#`
// (or the requester's own channel), server count through PUBSUB NUMSUB of the request channel.
#include <sio/adapter/redis.hpp>
#include <sio/protocol/packet.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>

#include "../../log.hpp"
#include "connection.hpp"
#include "msgpack.hpp"

namespace sio {

namespace net = boost::asio;
namespace json = boost::json;
using kind = cluster_message::kind;

namespace {

// Request types of the classic adapter.
namespace request {
enum type : int {
    sockets = 0,
    all_rooms = 1,
    remote_join = 2,
    remote_leave = 3,
    remote_disconnect = 4,
    remote_fetch = 5,
    server_side_emit = 6,
    broadcast = 7,
    broadcast_client_count = 8,
    broadcast_ack = 9,
};
} // namespace request

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

// --- JSON helpers ----------------------------------------------------------------------------------------

json::array string_array(const std::vector<std::string>& v) {
    json::array a;
    a.reserve(v.size());
    for (const auto& s : v)
        a.emplace_back(s);
    return a;
}

/// JSON text of a message that carries application data: non-finite numbers become null, as Node writes them.
std::string user_json(const json::value& v) {
    std::string out;
    sio::protocol::append_json(v, out);
    return out;
}

/// A room or socket id as Node may send it: a string, or a number (`io.to(123)`).
std::optional<std::string> room_name(const json::value& v) {
    if (v.is_string())
        return std::string(v.get_string());
    if (v.is_int64() || v.is_uint64() || v.is_double())
        return json::serialize(v);
    return std::nullopt;
}

bool read_rooms(const json::value* v, std::vector<std::string>& out) {
    if (!v)
        return true;
    if (!v->is_array())
        return false;
    for (const auto& r : v->get_array()) {
        auto name = room_name(r);
        if (!name)
            return false;
        out.push_back(std::move(*name));
    }
    return true;
}

json::object opts_json(const broadcast_flags& f, bool with_flags) {
    json::object o{{"rooms", string_array(f.rooms)}, {"except", string_array(f.except)}};
    if (with_flags) {
        json::object flags;
        if (f.volatile_)
            flags["volatile"] = true;
        if (!f.compress)
            flags["compress"] = false;
        if (f.timeout)
            flags["timeout"] = f.timeout->count();
        o["flags"] = std::move(flags);
    }
    return o;
}

bool read_opts(const json::value* v, broadcast_flags& f) {
    if (!v)
        return true;
    if (!v->is_object())
        return false;
    const auto& o = v->get_object();
    if (!read_rooms(o.if_contains("rooms"), f.rooms) || !read_rooms(o.if_contains("except"), f.except))
        return false;
    if (const auto* flags = o.if_contains("flags"); flags && flags->is_object()) {
        const auto& fl = flags->get_object();
        if (const auto* x = fl.if_contains("volatile"); x && x->is_bool())
            f.volatile_ = x->get_bool();
        if (const auto* x = fl.if_contains("compress"); x && x->is_bool())
            f.compress = x->get_bool();
        if (const auto* x = fl.if_contains("timeout"); x && x->is_number()) {
            boost::system::error_code ec;
            const auto ms = x->to_number<std::int64_t>(ec);
            if (!ec && ms >= 0)
                f.timeout = std::chrono::milliseconds(ms);
        }
    }
    return true;
}

json::object handshake_json(const handshake& h) {
    json::object headers;
    for (const auto& [name, value] : h.headers.fields()) {
        std::string key(name);
        std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
        headers[key] = value;
    }
    json::object query;
    for (const auto& [k, v] : h.query)
        query[k] = v;
    return json::object{{"headers", std::move(headers)},
                        {"time", h.time},
                        {"address", h.address},
                        {"xdomain", h.xdomain},
                        {"secure", h.secure},
                        {"issued", h.issued},
                        {"url", h.url},
                        {"query", std::move(query)},
                        {"auth", h.auth}};
}

handshake handshake_of(const json::object& o) {
    handshake h;
    auto str = [&](std::string_view key) -> std::string {
        const auto* v = o.if_contains(key);
        return v && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    if (const auto* v = o.if_contains("headers"); v && v->is_object())
        for (const auto& [k, val] : v->get_object())
            h.headers.add(k, val.is_string() ? std::string(val.get_string()) : json::serialize(val));
    h.time = str("time");
    h.address = str("address");
    h.url = str("url");
    if (const auto* v = o.if_contains("xdomain"); v && v->is_bool())
        h.xdomain = v->get_bool();
    if (const auto* v = o.if_contains("secure"); v && v->is_bool())
        h.secure = v->get_bool();
    if (const auto* v = o.if_contains("issued"); v && v->is_number()) {
        boost::system::error_code ec;
        h.issued = v->to_number<std::int64_t>(ec);
    }
    if (const auto* v = o.if_contains("query"); v && v->is_object())
        for (const auto& [k, val] : v->get_object())
            h.query.emplace_back(k, val.is_string() ? std::string(val.get_string()) : json::serialize(val));
    if (const auto* v = o.if_contains("auth"); v && v->is_object())
        h.auth = v->get_object();
    return h;
}

/// `[event, args...]` as a JSON array (placeholders kept).
json::array event_data(const cluster_message& m) {
    json::array data;
    data.reserve(m.args.values.size() + 1);
    data.emplace_back(m.event);
    for (const auto& v : m.args.values)
        data.push_back(v);
    return data;
}

/// Splits `[event, args...]`; false when it is not an event.
bool read_event(const json::value* v, std::vector<std::string>&& attachments, cluster_message& m) {
    if (!v || !v->is_array() || v->get_array().empty())
        return false;
    const auto& data = v->get_array();
    auto name = room_name(data.front()); // a string, or a number like the reference accepts
    if (!name)
        return false;
    m.event = std::move(*name);
    m.args.values = json::array(data.begin() + 1, data.end());
    m.args.attachments = std::move(attachments);
    return true;
}

/// The first acknowledgement argument (classic responses carry one value).
json::value first_arg(const arguments& a) {
    return a.values.empty() ? json::value(nullptr) : a.values.front();
}

/// Decodes a request or response payload: JSON when it starts with `{`, msgpack otherwise.
bool decode_payload(std::string_view payload, json::value& out, std::vector<std::string>& attachments) {
    if (!payload.empty() && payload.front() == '{') {
        boost::system::error_code ec;
        json::parse_options po;
        po.max_depth = 32;
        out = json::parse(payload, ec, {}, po);
        return !ec;
    }
    return !redis_detail::msgpack_decode(payload, out, attachments);
}

std::string encode_msgpack(const json::value& v, const std::vector<std::string>& attachments) {
    std::string out;
    redis_detail::msgpack_encode(v, attachments, out);
    return out;
}

class redis_adapter_impl;

/// The connections shared by every namespace of one server, and the routing of incoming messages.
class redis_link : public std::enable_shared_from_this<redis_link> {
public:
    explicit redis_link(redis_options o) : options_(std::move(o)) {}
    ~redis_link() { close_connections(); }

    const redis_options& options() const noexcept { return options_; }

    /// The mailbox of one adapter; cleared when the adapter closes. `anchor` keeps the adapter's namespace
    /// (and so the adapter) alive while a message is handed over without holding any lock.
    struct endpoint {
        std::mutex mutex;
        redis_adapter_impl* target = nullptr;
        std::weak_ptr<const void> anchor;
        std::string nsp;
    };

    std::shared_ptr<endpoint> attach(redis_adapter_impl* target, const std::string& nsp,
                                     const std::string& uid, const net::any_io_executor& ex);
    void detach(const std::shared_ptr<endpoint>& e, const std::string& uid);

    /// Hands a publication to the command connection. When it cannot take it (Redis down or closed:
    /// `std::errc::not_connected`; its outgoing queue full: `redis_detail::errc::queue_full`), the
    /// publication is dropped, counted and logged (at most one line a second, with the count).
    std::error_code publish(const std::string& channel, std::string payload) {
        std::shared_ptr<redis_detail::command_connection> c;
        {
            std::lock_guard lock(mutex_);
            c = commands_;
        }
        std::error_code ec = make_error_code(redis_detail::errc::closed);
        if (c)
            ec = c->send({"PUBLISH", channel, std::move(payload)});
        if (!ec)
            return ec;
        dropped(channel, ec);
        if (ec == redis_detail::errc::queue_full)
            return ec;
        return make_error_code(std::errc::not_connected);
    }

    std::shared_ptr<redis_detail::command_connection> command_connection() {
        std::lock_guard lock(mutex_);
        return commands_;
    }
    std::shared_ptr<redis_detail::subscriber_connection> subscriber() {
        std::lock_guard lock(mutex_);
        return subscriber_;
    }

    using wake_channel = net::experimental::concurrent_channel<void(boost::system::error_code, bool)>;
    /// How many times the subscriber reported itself up (subscriptions confirmed) so far.
    std::uint64_t ups() {
        std::lock_guard lock(mutex_);
        return ups_;
    }
    /// A channel that receives at the next report of the subscriber up after `seen` reports, or when an
    /// adapter detaches (its waiters then see it closed); null when that report already came.
    std::shared_ptr<wake_channel> wait_up(const net::any_io_executor& ex, std::uint64_t seen) {
        std::lock_guard lock(mutex_);
        if (ups_ != seen)
            return nullptr;
        auto ch = std::make_shared<wake_channel>(ex, 1);
        up_waiters_.push_back(ch);
        return ch;
    }
    /// Wakes every `wait_up` waiter; `up`: the subscriber reported itself up.
    void wake_waiters(bool up) {
        std::vector<std::shared_ptr<wake_channel>> waiters;
        {
            std::lock_guard lock(mutex_);
            if (up)
                ++ups_;
            waiters.swap(up_waiters_);
        }
        for (auto& w : waiters)
            w->try_send(boost::system::error_code{}, up);
    }

private:
    void dropped(const std::string& channel, std::error_code why) {
        const auto total = ++dropped_;
        // One line a second at most: a stalled Redis under a stream of broadcasts drops thousands.
        const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
        auto last = last_drop_log_.load();
        const auto second =
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(1));
        if (last != 0 && now - last < second.count())
            return;
        if (!last_drop_log_.compare_exchange_strong(last, now))
            return;
        SIO_LOG(adapter, warning, "redis adapter: dropped a publication on ", channel, ": ", why, " (", total,
                " dropped so far)");
    }
    void on_message(std::string_view channel, std::string_view payload);
    void open_connections(const net::any_io_executor& ex);
    void close_connections();
    /// Under mutex_: counts one more user of each name; returns the names that had none.
    static std::vector<std::string> acquire(std::map<std::string, int>& counts,
                                            const std::vector<std::string>& names);
    /// Under mutex_: counts one user less; returns the names that have none left.
    static std::vector<std::string> release(std::map<std::string, int>& counts,
                                            const std::vector<std::string>& names);

    const redis_options options_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<endpoint>> endpoints_; // oldest first
    // Two adapters of one namespace name may live at once (a dynamic child removed and created again
    // while the old one is still referenced): subscriptions are counted, not toggled.
    std::map<std::string, int> channels_;
    std::map<std::string, int> patterns_;
    std::shared_ptr<redis_detail::command_connection> commands_;
    std::shared_ptr<redis_detail::subscriber_connection> subscriber_;
    std::uint64_t ups_ = 0;                                 // under mutex_, with up_waiters_
    std::vector<std::shared_ptr<wake_channel>> up_waiters_; // adapter_ready() calls waiting for Redis
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::chrono::steady_clock::rep> last_drop_log_{0}; ///< when the last drop was logged
};

redis_detail::endpoint endpoint_of(const redis_options& o) {
    redis_detail::endpoint ep;
    ep.host = o.host;
    ep.port = o.port;
    ep.username = o.username;
    ep.password = o.password;
    ep.db = o.db;
    ep.connect_timeout = o.connect_timeout;
    ep.reconnect_min = o.reconnect_min;
    ep.reconnect_max = o.reconnect_max;
    ep.command_timeout = o.command_timeout;
    ep.max_queued_bytes = o.max_queued_bytes;
    return ep;
}

/// One namespace's adapter.
class redis_adapter_impl final : public cluster_adapter {
public:
    redis_adapter_impl(adapter_host& host, std::shared_ptr<redis_link> link)
        : cluster_adapter(host, cluster_options{random_uid(), link->options().requests_timeout}),
          link_(std::move(link)), prefix_(link_->options().key),
          broadcast_channel_(prefix_ + "#" + host.name() + "#"),
          request_channel_(prefix_ + "-request#" + host.name() + "#"),
          response_channel_(prefix_ + "-response#" + host.name() + "#"),
          own_response_channel_(response_channel_ + uid() + "#") {
        endpoint_ = link_->attach(this, host.name(), uid(), host.executor());
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
            link_->detach(e, uid());
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

    const std::string& broadcast_channel() const noexcept { return broadcast_channel_; }
    const std::string& request_channel() const noexcept { return request_channel_; }
    const std::string& response_channel() const noexcept { return response_channel_; }
    const std::string& own_response_channel() const noexcept { return own_response_channel_; }

    /// A message on one of this namespace's channels (the subscriber's strand).
    void receive(std::string_view channel, std::string_view payload) {
        if (channel.starts_with(request_channel_) && channel.size() == request_channel_.size())
            on_request(channel, payload);
        else if (channel.starts_with(response_channel_))
            on_response_payload(channel, payload);
        else if (channel.starts_with(broadcast_channel_))
            on_broadcast(channel, payload);
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
        if (!encode_request(m, channel, payload))
            co_return std::error_code{};
        co_return link_->publish(channel, std::move(payload));
    }

    net::awaitable<std::error_code> publish_response(std::string to, cluster_message m) override {
        std::string channel;
        std::string payload;
        if (!encode_response(to, m, channel, payload))
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

    std::vector<std::string> numsub_command() const { return {"PUBSUB", "NUMSUB", request_channel_}; }

    /// Encodes a response (not a coroutine: braced initialisers with literals miscompile in GCC 12
    /// coroutines).
    bool encode_response(const std::string& to, const cluster_message& m, std::string& channel,
                         std::string& payload) const {
        channel = response_channel_for(to);
        switch (m.type) {
        case kind::fetch_sockets_response: {
            json::array sockets;
            for (const auto& s : m.sockets)
                sockets.push_back(json::object{{"id", s.id},
                                               {"handshake", handshake_json(s.handshake)},
                                               {"rooms", string_array(s.rooms)},
                                               {"data", s.data}});
            payload =
                json::serialize(json::object{{"requestId", m.request_id}, {"sockets", std::move(sockets)}});
            break;
        }
        case kind::all_rooms_response:
            payload =
                json::serialize(json::object{{"requestId", m.request_id}, {"rooms", string_array(m.rooms)}});
            break;
        case kind::server_side_emit_response:
            // Always on the shared channel, like the reference.
            channel = response_channel_;
            {
                json::object o{{"type", int(request::server_side_emit)},
                               {"requestId", m.request_id},
                               {"data", first_arg(m.args)}};
                // JSON like the reference, unless there is binary (msgpack keeps it; Node reads both).
                payload = m.args.attachments.empty() ? user_json(o) : encode_msgpack(o, m.args.attachments);
            }
            break;
        case kind::broadcast_client_count:
            payload = json::serialize(json::object{{"type", int(request::broadcast_client_count)},
                                                   {"requestId", m.request_id},
                                                   {"clientCount", m.client_count}});
            break;
        case kind::broadcast_ack:
            payload = encode_msgpack(json::object{{"type", int(request::broadcast_ack)},
                                                  {"requestId", m.request_id},
                                                  {"packet", first_arg(m.args)}},
                                     m.args.attachments);
            break;
        default:
            return false;
        }
        return true;
    }

    /// Encodes a request or broadcast; false for kinds that are never published.
    bool encode_request(const cluster_message& m, std::string& channel, std::string& payload) const {
        channel = request_channel_;
        switch (m.type) {
        case kind::broadcast: {
            json::object packet{{"type", 2}, {"data", event_data(m)}, {"nsp", host().name()}};
            if (m.request_id.empty()) {
                if (m.opts.rooms.size() == 1)
                    channel = broadcast_channel_ + m.opts.rooms.front() + "#";
                else
                    channel = broadcast_channel_;
                payload = encode_msgpack(
                    json::array{json::value(m.uid), std::move(packet), opts_json(m.opts, true)},
                    m.args.attachments);
            } else {
                payload = encode_msgpack(json::object{{"uid", m.uid},
                                                      {"requestId", m.request_id},
                                                      {"type", int(request::broadcast)},
                                                      {"packet", std::move(packet)},
                                                      {"opts", opts_json(m.opts, true)}},
                                         m.args.attachments);
            }
            return true;
        }
        case kind::sockets_join:
        case kind::sockets_leave:
            payload = json::serialize(json::object{
                {"uid", m.uid},
                {"type", int(m.type == kind::sockets_join ? request::remote_join : request::remote_leave)},
                {"opts", opts_json(m.opts, false)},
                {"rooms", string_array(m.rooms)}});
            return true;
        case kind::disconnect_sockets:
            payload = json::serialize(json::object{{"uid", m.uid},
                                                   {"type", int(request::remote_disconnect)},
                                                   {"opts", opts_json(m.opts, false)},
                                                   {"close", m.close}});
            return true;
        case kind::fetch_sockets:
            payload = json::serialize(json::object{{"uid", m.uid},
                                                   {"requestId", m.request_id},
                                                   {"type", int(request::remote_fetch)},
                                                   {"opts", opts_json(m.opts, false)}});
            return true;
        case kind::all_rooms:
            payload = json::serialize(
                json::object{{"uid", m.uid}, {"requestId", m.request_id}, {"type", int(request::all_rooms)}});
            return true;
        case kind::server_side_emit: {
            json::object o{{"uid", m.uid}, {"type", int(request::server_side_emit)}, {"data", event_data(m)}};
            if (!m.request_id.empty())
                o["requestId"] = m.request_id;
            // JSON like the reference, unless there is binary (msgpack keeps it; Node reads both).
            payload = m.args.attachments.empty() ? user_json(o) : encode_msgpack(o, m.args.attachments);
            return true;
        }
        default:
            return false;
        }
    }

    void on_broadcast(std::string_view channel, std::string_view payload) {
        json::value v;
        std::vector<std::string> attachments;
        if (redis_detail::msgpack_decode(payload, v, attachments) || !v.is_array() ||
            v.get_array().size() < 2) {
            log_dropped("not a broadcast message", channel);
            return;
        }
        const auto& a = v.get_array();
        cluster_message m;
        m.type = kind::broadcast;
        if (a[0].is_string())
            m.uid = std::string(a[0].get_string());
        if (m.uid.empty())
            m.uid = "emitter";
        if (!a[1].is_object()) {
            log_dropped("packet is not an object", channel);
            return;
        }
        const auto& packet = a[1].get_object();
        // Like the reference: a packet without `nsp` is for "/", and another namespace's is dropped.
        const auto* nsp = packet.if_contains("nsp");
        if (nsp ? (!nsp->is_string() || nsp->get_string() != host().name()) : host().name() != "/")
            return;
        if (!read_event(packet.if_contains("data"), std::move(attachments), m) ||
            !read_opts(a.size() > 2 ? &a[2] : nullptr, m.opts)) {
            log_dropped("malformed packet or options", channel);
            return;
        }
        on_message(std::move(m));
    }

    void on_request(std::string_view channel, std::string_view payload) {
        json::value v;
        std::vector<std::string> attachments;
        if (!decode_payload(payload, v, attachments) || !v.is_object()) {
            log_dropped("request does not parse", channel);
            return;
        }
        const auto& o = v.get_object();
        const auto* type = o.if_contains("type");
        if (!type || !type->is_number()) {
            log_dropped("request without a type", channel);
            return;
        }
        boost::system::error_code ec;
        const auto t = type->to_number<int>(ec);
        cluster_message m;
        if (const auto* uid = o.if_contains("uid"); uid && uid->is_string())
            m.uid = std::string(uid->get_string());
        if (m.uid.empty())
            m.uid = "emitter"; // @socket.io/redis-emitter sends joins, leaves and disconnects without one
        if (const auto* id = o.if_contains("requestId"); id && id->is_string())
            m.request_id = std::string(id->get_string());
        if (ec || !read_opts(o.if_contains("opts"), m.opts)) {
            log_dropped("malformed request", channel);
            return;
        }
        switch (t) {
        case request::sockets: { // legacy, still answered by the reference
            if (m.uid == uid() || m.request_id.empty())
                return;
            broadcast_flags f;
            read_rooms(o.if_contains("rooms"), f.rooms);
            json::array ids;
            for (const auto& s : local_sockets(f))
                ids.emplace_back(s.id());
            (void)link_->publish(
                response_channel_for(m.uid),
                json::serialize(json::object{{"requestId", m.request_id}, {"sockets", std::move(ids)}}));
            return;
        }
        case request::all_rooms:
            m.type = kind::all_rooms;
            break;
        case request::remote_join:
        case request::remote_leave:
            if (const auto* sid = o.if_contains("sid");
                sid && sid->is_string()) { // legacy single-socket form
                const auto* room = o.if_contains("room");
                if (!room || !room->is_string())
                    return;
                m.opts.rooms = {std::string(sid->get_string())};
                m.rooms = {std::string(room->get_string())};
                acknowledge_legacy(m);
            } else if (!read_rooms(o.if_contains("rooms"), m.rooms)) {
                log_dropped("malformed rooms", channel);
                return;
            }
            m.type = t == request::remote_join ? kind::sockets_join : kind::sockets_leave;
            break;
        case request::remote_disconnect:
            if (const auto* sid = o.if_contains("sid"); sid && sid->is_string()) {
                m.opts.rooms = {std::string(sid->get_string())};
                acknowledge_legacy(m);
            }
            if (const auto* close = o.if_contains("close"); close && close->is_bool())
                m.close = close->get_bool();
            m.type = kind::disconnect_sockets;
            break;
        case request::remote_fetch:
            m.type = kind::fetch_sockets;
            break;
        case request::server_side_emit:
            m.type = kind::server_side_emit;
            if (!read_event(o.if_contains("data"), std::move(attachments), m)) {
                log_dropped("malformed server-side event", channel);
                return;
            }
            break;
        case request::broadcast: {
            m.type = kind::broadcast;
            const auto* packet = o.if_contains("packet");
            if (!packet || !packet->is_object() || m.request_id.empty() ||
                !read_event(packet->get_object().if_contains("data"), std::move(attachments), m)) {
                log_dropped("malformed broadcast request", channel);
                return;
            }
            break;
        }
        default:
            log_dropped("unknown request type", channel);
            return;
        }
        on_message(std::move(m));
    }

    /// Where responses to `requester` go (the reference's `publishOnSpecificResponseChannel`).
    std::string response_channel_for(const std::string& requester) const {
        return link_->options().publish_on_specific_response_channel ? response_channel_ + requester + "#"
                                                                     : response_channel_;
    }

    /// The legacy single-socket join/leave/disconnect forms are answered with `{requestId}`.
    void acknowledge_legacy(const cluster_message& m) {
        if (m.request_id.empty() || m.uid == uid())
            return;
        (void)link_->publish(response_channel_for(m.uid),
                             json::serialize(json::object{{"requestId", m.request_id}}));
    }

    void on_response_payload(std::string_view channel, std::string_view payload) {
        if (channel.size() != response_channel_.size() && channel != own_response_channel_)
            return; // addressed to another server
        json::value v;
        std::vector<std::string> attachments;
        if (!decode_payload(payload, v, attachments) || !v.is_object()) {
            log_dropped("response does not parse", channel);
            return;
        }
        const auto& o = v.get_object();
        cluster_message m;
        const auto* id = o.if_contains("requestId");
        if (!id || !id->is_string())
            return;
        m.request_id = std::string(id->get_string());
        const auto* type = o.if_contains("type");
        boost::system::error_code ec;
        const int t = type && type->is_number() ? type->to_number<int>(ec) : -1;
        if (t == request::server_side_emit || t == request::broadcast_ack) {
            m.type = t == request::server_side_emit ? kind::server_side_emit_response : kind::broadcast_ack;
            const auto* value = o.if_contains(t == request::server_side_emit ? "data" : "packet");
            m.args.values.push_back(value ? *value : json::value(nullptr));
            m.args.attachments = std::move(attachments);
        } else if (t == request::broadcast_client_count) {
            m.type = kind::broadcast_client_count;
            const auto* count = o.if_contains("clientCount");
            if (!count || !count->is_number())
                return;
            m.client_count = count->to_number<std::size_t>(ec);
            if (ec || m.client_count > 10'000'000)
                return;
        } else if (const auto* socks = o.if_contains("sockets"); socks && socks->is_array()) {
            m.type = kind::fetch_sockets_response;
            for (const auto& s : socks->get_array()) {
                if (!s.is_object())
                    return;
                const auto& so = s.get_object();
                socket_details d;
                const auto* sid = so.if_contains("id");
                if (!sid || !sid->is_string())
                    continue; // a legacy SOCKETS answer (ids only) is not ours
                d.id = std::string(sid->get_string());
                if (const auto* h = so.if_contains("handshake"); h && h->is_object())
                    d.handshake = handshake_of(h->get_object());
                read_rooms(so.if_contains("rooms"), d.rooms);
                if (const auto* data = so.if_contains("data"))
                    d.data = *data;
                m.sockets.push_back(std::move(d));
            }
        } else if (const auto* rooms = o.if_contains("rooms"); rooms && rooms->is_array()) {
            m.type = kind::all_rooms_response;
            read_rooms(rooms, m.rooms);
        } else {
            return;
        }
        on_message(std::move(m));
    }

    std::shared_ptr<redis_link> link_;
    const std::string prefix_;
    const std::string broadcast_channel_;
    const std::string request_channel_;
    const std::string response_channel_;
    const std::string own_response_channel_;
    const std::shared_ptr<count_state> counts_ = std::make_shared<count_state>();
    std::mutex close_mutex_;
    std::shared_ptr<redis_link::endpoint> endpoint_;
};

std::shared_ptr<redis_link::endpoint> redis_link::attach(redis_adapter_impl* target, const std::string& nsp,
                                                         const std::string&, const net::any_io_executor& ex) {
    auto e = std::make_shared<endpoint>();
    e->target = target;
    e->nsp = nsp;
    const std::vector<std::string> channels{target->request_channel(), target->response_channel(),
                                            target->own_response_channel()};
    const std::vector<std::string> patterns{target->broadcast_channel() + "*"};
    std::shared_ptr<redis_detail::subscriber_connection> sub;
    std::vector<std::string> new_channels, new_patterns;
    {
        std::lock_guard lock(mutex_);
        if (!subscriber_)
            open_connections(ex);
        endpoints_.push_back(e);
        sub = subscriber_;
        new_channels = acquire(channels_, channels);
        new_patterns = acquire(patterns_, patterns);
    }
    if (!new_patterns.empty())
        sub->psubscribe(std::move(new_patterns));
    if (!new_channels.empty())
        sub->subscribe(std::move(new_channels));
    return e;
}

std::vector<std::string> redis_link::acquire(std::map<std::string, int>& counts,
                                             const std::vector<std::string>& names) {
    std::vector<std::string> fresh;
    for (const auto& n : names)
        if (counts[n]++ == 0)
            fresh.push_back(n);
    return fresh;
}

std::vector<std::string> redis_link::release(std::map<std::string, int>& counts,
                                             const std::vector<std::string>& names) {
    std::vector<std::string> gone;
    for (const auto& n : names) {
        auto it = counts.find(n);
        if (it == counts.end())
            continue;
        if (--it->second == 0) {
            counts.erase(it);
            gone.push_back(n);
        }
    }
    return gone;
}

/// Closes the connections handed over by `detach` when the last endpoint left; true then.
bool close_if_last(const std::shared_ptr<redis_detail::command_connection>& commands,
                   const std::shared_ptr<redis_detail::subscriber_connection>& sub) {
    if (!commands)
        return false;
    commands->close();
    if (sub)
        sub->close();
    return true;
}

void redis_link::detach(const std::shared_ptr<endpoint>& e, const std::string&) {
    redis_adapter_impl* target = nullptr;
    {
        std::lock_guard lock(e->mutex);
        target = e->target;
        e->target = nullptr;
    }
    if (!target)
        return;
    wake_waiters(false); // an adapter_ready() of this adapter resolves (closed); the others wait again
    const std::vector<std::string> channels{target->request_channel(), target->response_channel(),
                                            target->own_response_channel()};
    const std::vector<std::string> patterns{target->broadcast_channel() + "*"};
    std::shared_ptr<redis_detail::subscriber_connection> sub;
    std::shared_ptr<redis_detail::command_connection> commands;
    std::vector<std::string> old_channels, old_patterns;
    {
        std::lock_guard lock(mutex_);
        std::erase(endpoints_, e);
        old_channels = release(channels_, channels);
        old_patterns = release(patterns_, patterns);
        if (endpoints_.empty()) { // the last one: the connections go (decided under the lock)
            sub = std::move(subscriber_);
            commands = std::move(commands_);
        } else {
            sub = subscriber_;
        }
    }
    if (close_if_last(commands, sub))
        return;
    if (sub && !old_patterns.empty())
        sub->punsubscribe(std::move(old_patterns));
    if (sub && !old_channels.empty())
        sub->unsubscribe(std::move(old_channels));
}

void redis_link::open_connections(const net::any_io_executor& ex) {
    // Under mutex_.
    const auto ep = endpoint_of(options_);
    commands_ = std::make_shared<redis_detail::command_connection>(ex, ep);
    std::weak_ptr<redis_link> weak = weak_from_this();
    subscriber_ = std::make_shared<redis_detail::subscriber_connection>(
        ex, ep,
        [weak](std::string_view channel, std::string_view payload) {
            if (auto self = weak.lock())
                self->on_message(channel, payload);
        },
        [weak, state = options_.on_subscriber_state](bool up) {
            if (auto self = weak.lock(); self && up)
                self->wake_waiters(true);
            if (state)
                state(up);
        });
}

void redis_link::close_connections() {
    std::shared_ptr<redis_detail::command_connection> c;
    std::shared_ptr<redis_detail::subscriber_connection> s;
    {
        std::lock_guard lock(mutex_);
        c = std::move(commands_);
        s = std::move(subscriber_);
    }
    if (c)
        c->close();
    if (s)
        s->close();
}

void redis_link::on_message(std::string_view channel, std::string_view payload) {
    // `<key>#<nsp>#...`, `<key>-request#<nsp>#`, `<key>-response#<nsp>#...`: find the namespace.
    const std::string& key = options_.key;
    std::string_view rest;
    if (channel.starts_with(key + "-request#"))
        rest = channel.substr(key.size() + 9);
    else if (channel.starts_with(key + "-response#"))
        rest = channel.substr(key.size() + 10);
    else if (channel.starts_with(key + "#"))
        rest = channel.substr(key.size() + 1);
    else
        return;
    std::vector<std::shared_ptr<endpoint>> endpoints;
    {
        std::lock_guard lock(mutex_);
        endpoints = endpoints_;
    }
    // The newest adapter of a namespace name is the live one.
    for (auto it = endpoints.rbegin(); it != endpoints.rend(); ++it) {
        auto& e = *it;
        if (!rest.starts_with(e->nsp) || rest.size() <= e->nsp.size() || rest[e->nsp.size()] != '#')
            continue;
        redis_adapter_impl* target = nullptr;
        std::shared_ptr<const void> anchor;
        {
            std::lock_guard lock(e->mutex);
            target = e->target;
            anchor = e->anchor.lock();
        }
        // No lock is held while the adapter works: it may run room handlers, or release the last
        // reference to a namespace whose adapter then detaches.
        if (target && anchor)
            target->receive(channel, payload);
        return;
    }
}

} // namespace

adapter_factory redis_adapter(redis_options options) {
    auto link = std::make_shared<redis_link>(std::move(options));
    return [link](adapter_host& host) -> std::unique_ptr<adapter> {
        return std::make_unique<redis_adapter_impl>(host, link);
    };
}

} // namespace sio
