// The Redis streams adapter: one namespace's `cluster_adapter` over the server's shared streams link
// (streams_link.hpp), in the format of Node's @socket.io/redis-streams-adapter 0.3.1 (streams_codec.hpp,
// docs/adapters.md). Broadcasts, joins, leaves and disconnections are stream entries; requests and
// responses go over pub/sub. With connection state recovery, the entry id is each packet's offset and the
// sessions of dropped sockets are kept in Redis (`<session_key_prefix><pid>`).
#include <sio/adapter/redis_streams.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "../../log.hpp"
#include "../../socketio/event_packet.hpp"
#include "../recovery_store.hpp"
#include "streams_link.hpp"
#include "streams_live_sessions.hpp"
#include "streams_recovery.hpp"

namespace sio {

namespace net = boost::asio;

namespace {

using redis_detail::reply;
using redis_detail::words;
using streams_detail::streams_link;

/// The XADD command of a stream entry: trimmed by length (the reference's `MAXLEN ~`), or by age when
/// `retention` is not 0 (`MINID ~`: entries older than that, by the ids' millisecond part, may go).
std::vector<std::string> xadd_command(const std::string& stream, const redis_streams_options& o,
                                      std::chrono::milliseconds retention, streams_detail::entry_fields&& f) {
    std::vector<std::string> c{"XADD", stream};
    if (retention.count() > 0) {
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        const auto min_id = std::max<std::int64_t>(0, now - retention.count());
        c.insert(c.end(), {"MINID", "~", std::to_string(min_id)});
    } else {
        c.insert(c.end(), {"MAXLEN", "~", std::to_string(o.max_len)});
    }
    c.insert(c.end(), {"*", "uid", std::move(f.uid), "nsp", std::move(f.nsp), "type", std::move(f.type)});
    if (f.data) {
        c.emplace_back("data");
        c.push_back(std::move(*f.data));
    }
    return c;
}

using streams_detail::admission_window;
using streams_detail::entry_id;
using streams_detail::entry_source;

/// How long a restored session may wait for its admission (the middlewares run in between), and what the
/// entries delivered meanwhile may take.
constexpr std::chrono::seconds max_admission_wait{60};
constexpr std::size_t max_admission_entries = 10000;
constexpr std::size_t max_admission_bytes = 16 * 1024 * 1024;
/// How many times a restore reads a chunk again after a connection error (not its own reply too large),
/// and for how long the answers of contention alone use up none (streams_detail::restore_retries).
constexpr int max_restore_retries = 4;
constexpr std::chrono::seconds max_restore_contention{10};

/// The packet a replay holds for a broadcast entry: `[event, args..., offset]`.
protocol::encoded_packet replay_packet(const adapter_host& host, const cluster_message& m,
                                       const std::string& offset) {
    protocol::packet p;
    p.type = protocol::packet_type::event;
    p.nsp = host.name();
    boost::json::array data;
    data.reserve(m.args.values.size() + 2);
    data.emplace_back(m.event);
    for (const auto& v : m.args.values)
        data.push_back(v);
    data.emplace_back(offset);
    p.data = std::move(data);
    p.attachments = m.args.attachments;
    return host.codec().encode(p);
}

class redis_streams_adapter_impl final : public cluster_adapter, public streams_detail::streams_receiver {
public:
    redis_streams_adapter_impl(adapter_host& host, std::shared_ptr<streams_link> link,
                               std::shared_ptr<streams_detail::live_sessions> live)
        : cluster_adapter(
              host, cluster_options{{}, link->options().requests_timeout} /* uid: random, by the base */),
          link_(std::move(link)),
          stream_(streams_detail::stream_for(host.name(), link_->options().stream_name,
                                             link_->options().stream_count)),
          public_channel_(link_->options().channel_prefix + "#" + host.name() + "#"),
          own_channel_(public_channel_ + uid() + "#"),
          window_(max_admission_entries, max_admission_bytes, max_admission_wait),
          retention_(link_->options().min_retention), live_(std::move(live)) {
        endpoint_ =
            link_->attach(this, host.name(), stream_, {public_channel_, own_channel_}, host.executor());
    }
    ~redis_streams_adapter_impl() override { close(); }

    void close() override {
        cluster_adapter::close();
        if (live_attached_.exchange(false))
            live_->detach();
        std::shared_ptr<streams_link::endpoint> e;
        {
            std::lock_guard lock(close_mutex_);
            e = std::move(endpoint_);
        }
        if (e)
            link_->detach(e);
    }

    bool connected() const noexcept override { return link_->connected(stream_); }

    void init() override {
        auto e = current_endpoint();
        if (!e)
            return;
        std::lock_guard lock(e->mutex);
        if (e->anchor.expired())
            e->anchor = host().anchor();
    }

    /// Once the subscriptions are confirmed and the stream's reader knows where it starts.
    net::awaitable<std::error_code> ready() override {
        return wait_ready(link_, current_endpoint(), stream_);
    }

    // --- what arrives ---------------------------------------------------------------------------------

    void stream_message(cluster_message m, const std::string& offset) override {
        if (!recovery_) {
            on_message(std::move(m));
            return;
        }
        const bool replayable =
            m.type == cluster_message::kind::broadcast && m.request_id.empty() && m.uid != uid();
        if (!replayable) { // it may run application code (server-side emits, room changes): no lock held
            on_message(std::move(m));
            return;
        }
        // Delivered here, as one step with respect to a recovered socket's admission; delivering a broadcast
        // runs no application code (sockets queue it).
        std::lock_guard lock(admission_mutex_);
        std::vector<std::string> replayed_to; // sockets that got it in their replay already
        if (const auto id = entry_id::parse(offset)) {
            replayed_to = window_.delivered(*id, entry_source::reader);
            if (window_.recording())
                window_.record(*id, m.opts.rooms, m.opts.except, replay_packet(host(), m, offset));
        }
        if (!m.opts.volatile_)
            m.args.values.emplace_back(offset); // the offset, as every server hands it to its clients
        if (replayed_to.empty()) {
            on_message(std::move(m));
            return;
        }
        broadcast_except_sockets(detail::make_event_packet(host().name(), m.event, std::move(m.args)), m.opts,
                                 replayed_to);
    }

    void pubsub_message(cluster_message m, std::string_view) override { on_message(std::move(m)); }

    // --- broadcasts -----------------------------------------------------------------------------------

    /// With recovery on, a packet that is kept goes to the stream first and to this server's sockets once
    /// its entry id (the offset) is known, in the order of the calls; the rest as every cluster adapter.
    void broadcast(protocol::packet packet, const broadcast_flags& flags) override {
        if (!recovery_ || flags.local || !detail::recovery_store::keeps(packet, flags) ||
            packet.data.as_array().empty() || !packet.data.as_array().front().is_string()) {
            cluster_adapter::broadcast(std::move(packet), flags);
            return;
        }
        auto c = link_->commands();
        cluster_message m;
        m.type = cluster_message::kind::broadcast;
        m.uid = uid();
        m.opts = flags;
        const auto& values = packet.data.as_array();
        m.event = std::string(values.front().as_string());
        m.args.values = boost::json::array(values.begin() + 1, values.end());
        m.args.attachments = packet.attachments;
        streams_detail::entry_fields f;
        if (!c || !streams_detail::encode_entry(m, host().name(), link_->options().only_plaintext, f)) {
            cluster_adapter::broadcast(std::move(packet), flags);
            return;
        }
        auto slot = std::make_shared<pending_xadd>();
        slot->broadcast = {std::move(packet), flags};
        // In the order of the XADDs (the queue and the command in one step): a refused XADD answers at once,
        // before the replies of earlier ones, and waits for them in the queue.
        std::lock_guard order(xadds_mutex_);
        xadds_.push_back(slot);
        // A command refused at once answers on this thread, which may hold an application lock: the
        // delivery is posted then, never run inside the caller's emit.
        auto issuing = std::make_shared<std::atomic<bool>>(true);
        c->command(xadd_command(stream_, link_->options(), retention_, std::move(f)),
                   [this, anchor = host().anchor(), slot, issuing,
                    issuer = std::this_thread::get_id()](std::error_code ec, reply r) mutable {
                       if (issuing->load() && std::this_thread::get_id() == issuer) {
                           slot->ec = ec; // within the command call: xadds_mutex_ is held
                           slot->answer = std::move(r);
                           slot->answered = true;
                           net::post(host().executor(), [this, anchor = std::move(anchor)] {
                               (void)anchor; // keeps this adapter alive
                               deliver_answered_xadds();
                           });
                           return;
                       }
                       {
                           std::lock_guard lock(xadds_mutex_);
                           slot->ec = ec;
                           slot->answer = std::move(r);
                           slot->answered = true;
                       }
                       (void)anchor; // keeps this adapter alive
                       deliver_answered_xadds();
                   });
        issuing->store(false);
    }

    /// Node's ClusterAdapter has no message for it: the rooms of every socket of the cluster, from a fetch.
    net::awaitable<room_list> all_rooms() override {
        auto fetched = co_await fetch_sockets({});
        std::set<std::string> rooms;
        for (auto& r : local_rooms())
            rooms.insert(std::move(r));
        for (const auto& s : fetched.remote)
            rooms.insert(s.rooms.begin(), s.rooms.end());
        room_list out;
        static_cast<cluster_status&>(out) = static_cast<cluster_status&>(fetched);
        out.rooms.assign(rooms.begin(), rooms.end());
        co_return out;
    }

    // --- connection state recovery --------------------------------------------------------------------

    bool enable_recovery(const connection_state_recovery_options& options) override {
        recovery_ = std::make_shared<connection_state_recovery_options>(options);
        if (link_->options().retain_for_recovery)
            retention_ = std::max(retention_, options.max_disconnection_duration);
        if (live_) // crash-safe sessions: a socket's record is written again when its rooms change
            live_attached_ = streams_detail::attach_live_sessions(*this, live_, options);
        return true;
    }

    void persist_session(recovery_session session) override {
        auto c = link_->commands();
        if (!recovery_ || !c)
            return;
        const auto ms = std::max<std::int64_t>(1, recovery_->max_disconnection_duration.count());
        const auto ec = c->send({"SET", link_->options().session_key_prefix + session.pid,
                                 streams_detail::encode_session(session), "PX", std::to_string(ms)});
        if (ec)
            SIO_LOG(adapter, warning, "redis streams adapter: the session of ", session.sid,
                    " was not saved: ", ec.message());
    }

    void session_opened(const socket& s, const std::string& pid) override {
        if (live_attached_ && s.connected()) // not one a handler disconnected while it was added
            live_->opened(s, pid);
    }

    void remove_socket(const socket& s) override {
        cluster_adapter::remove_socket(s);
        if (live_) // after persist_session's save in Node's key, if any; also once detached (no entry kept)
            live_->closed(s);
    }

    net::awaitable<std::optional<restored_session>>
    restore_session(std::string pid, std::optional<std::string> offset) override {
        if (!recovery_ || !offset || !streams_detail::valid_offset(*offset))
            co_return std::nullopt;
        std::uint64_t token = 0;
        {
            std::lock_guard lock(admission_mutex_);
            token = window_.begin(entry_id::parse(link_->reader_position(stream_)),
                                  admission_window::clock::now());
        }
        auto out = co_await read_session(pid, *offset, token);
        if (!out) {
            std::lock_guard lock(admission_mutex_);
            window_.abandon(token);
        } else
            out->generation = token; // which restore add_recovered_socket admits
        co_return out;
    }

    /// The one step of admission: what the restore read is completed with what this server delivered
    /// since (streams_recovery.hpp), then the socket is added.
    bool add_recovered_socket(const socket& s, restored_session& restored,
                              const std::function<bool()>& write) override {
        if (!recovery_)
            return cluster_adapter::add_recovered_socket(s, restored, write);
        std::function<void()> report_room_events;
        {
            std::lock_guard lock(admission_mutex_);
            if (!window_.admit(restored.generation, s.id(), restored.session.rooms, restored.missed,
                               admission_window::clock::now())) {
                SIO_LOG(adapter, debug, "redis streams adapter: recovery of socket ", s.id(), " on ",
                        host().name(), " no longer possible at admission");
                return false;
            }
            if (!write()) {
                window_.unadmit(s.id()); // not added: its replayed entries are no longer awaited
                return false;
            }
            report_room_events = add_sink_in_rooms(socket_sink::of(s), restored.session.rooms);
        }
        if (report_room_events) // application handlers: no lock held
            report_room_events();
        return true;
    }

protected:
    net::awaitable<std::error_code> publish(cluster_message m) override {
        auto c = link_->commands();
        if (!c)
            co_return make_error_code(error::adapter_closed);
        if (streams_detail::is_ephemeral(m)) {
            std::string payload;
            if (!streams_detail::encode_envelope(m, host().name(), payload))
                co_return make_error_code(error::invalid_argument);
            co_return c->send(words(publish_verb(), public_channel_, std::move(payload)));
        }
        streams_detail::entry_fields f;
        if (!streams_detail::encode_entry(m, host().name(), link_->options().only_plaintext, f))
            co_return make_error_code(error::invalid_argument);
        auto [ec, r] = co_await c->command(xadd_command(stream_, link_->options(), retention_, std::move(f)));
        if (!ec && r.type == reply::kind::error) {
            SIO_LOG(adapter, warning, "redis streams adapter: XADD refused: ", r.str);
            ec = make_error_code(std::errc::io_error);
        }
        co_return ec;
    }

    net::awaitable<std::error_code> publish_response(std::string to, cluster_message m) override {
        auto c = link_->commands();
        if (!c)
            co_return make_error_code(error::adapter_closed);
        std::string payload;
        if (!streams_detail::encode_envelope(m, host().name(), payload))
            co_return make_error_code(error::invalid_argument);
        co_return c->send(words(publish_verb(), public_channel_ + to + "#", std::move(payload)));
    }

    /// PUBSUB NUMSUB of the public channel (every server of the namespace subscribes to it). Unknown counts
    /// as 2: somebody else may be there, so requests report the failure.
    net::awaitable<std::size_t> remote_server_count() override {
        auto c = link_->commands();
        if (!c)
            co_return std::size_t{2};
        auto [ec, r] = co_await c->command(
            words("PUBSUB", link_->options().use_sharded_pubsub ? "SHARDNUMSUB" : "NUMSUB", public_channel_));
        if (ec || r.type != reply::kind::array || r.elements.size() < 2 ||
            r.elements[1].type != reply::kind::integer)
            co_return std::size_t{2};
        co_return static_cast<std::size_t>(std::max<std::int64_t>(1, r.elements[1].integer));
    }

private:
    /// PUBLISH, or SPUBLISH with `use_sharded_pubsub` (as the reference's `useShardedPubSub`).
    const char* publish_verb() const { return link_->options().use_sharded_pubsub ? "SPUBLISH" : "PUBLISH"; }

    std::shared_ptr<streams_link::endpoint> current_endpoint() {
        std::lock_guard lock(close_mutex_);
        return endpoint_;
    }

    static net::awaitable<std::error_code> wait_ready(std::shared_ptr<streams_link> link,
                                                      std::shared_ptr<streams_link::endpoint> e,
                                                      std::string stream) {
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
            const std::uint64_t seen = link->changes();
            auto sub = link->subscriber();
            if (!sub)
                co_return make_error_code(error::adapter_closed);
            const std::error_code ec = co_await sub->synced();
            if (ec == redis_detail::errc::subscribe_failed)
                co_return ec;
            if (!ec && link->positioned(stream))
                co_return std::error_code{};
            if ((co_await net::this_coro::cancellation_state).cancelled() != net::cancellation_type::none)
                co_return std::error_code(boost::system::error_code(net::error::operation_aborted));
            if (auto waiter = link->wait_change(ex, seen)) {
                auto [wec, up] = co_await waiter->async_receive(net::as_tuple(net::use_awaitable));
                if (wec)
                    co_return std::error_code(wec);
            }
        }
    }

    /// The stored session of `pid` and the broadcasts after `offset` that reach it, read in chunks on the
    /// restores' connection (entries and bytes capped: a restore that needs more fails); nothing when the
    /// session or the offset is unknown, or the read fails.
    net::awaitable<std::optional<restored_session>> read_session(const std::string& pid, std::string offset,
                                                                 std::uint64_t token) {
        auto c = link_->commands();
        auto rc = link_->restores();
        if (!c || !rc)
            co_return std::nullopt;
        const auto& o = link_->options();
        const std::string key = o.session_key_prefix + pid;
        // Consumed, as the reference consumes it (GETDEL; GET then DEL before Redis 6.2).
        auto [ec, stored] = co_await c->command(words("GETDEL", key));
        if (!ec && stored.type == reply::kind::error) {
            std::tie(ec, stored) = co_await c->command(words("GET", key));
            (void)c->send(words("DEL", key));
        }
        if (!ec && stored.type == reply::kind::nil && live_attached_) // its server may have crashed
            stored = co_await streams_detail::claim_live_session(live_, pid, host().name());
        auto [ec2, at] = co_await rc->command(words("XRANGE", stream_, offset, offset));
        if (ec || ec2 || stored.type != reply::kind::string || at.type != reply::kind::array ||
            at.elements.empty()) {
            SIO_LOG(adapter, debug, "redis streams adapter: no session or offset for ", pid, " on ",
                    host().name());
            co_return std::nullopt;
        }
        auto session = streams_detail::decode_session(stored.str);
        if (!session) {
            link_->log_dropped(key, "stored session does not decode");
            co_return std::nullopt;
        }
        restored_session out;
        std::vector<std::pair<entry_id, entry_source>> sources;
        auto fail = [&](std::string_view why) {
            SIO_LOG(adapter, warning, "redis streams adapter: the session of ", session->sid, " on ",
                    host().name(), " is not recovered: ", why, " (the client gets a fresh session)");
            return std::nullopt;
        };
        std::size_t entries_read = 0, bytes_read = 0;
        std::size_t chunk = std::max<std::size_t>(1, o.read_count);
        std::string from = offset;
        // The connection dials again after an error (another restore's reply too large, a blip): a chunk
        // is read again after the connection's back-off, a few times.
        streams_detail::restore_retries retries(max_restore_retries, max_restore_contention,
                                                std::chrono::steady_clock::now());
        auto delay = o.reconnect_min;
        for (;;) {
            auto next = streams_detail::next_offset(from);
            if (!next)
                break;
            auto [rec, entries] =
                co_await rc->command(words("XRANGE", stream_, *next, "+", "COUNT", std::to_string(chunk)));
            if (rec == redis_detail::errc::reply_too_large && chunk == 1)
                co_return fail("an entry is larger than max_reply_bytes");
            if (rec == redis_detail::errc::reply_too_large)
                chunk /= 2; // this restore's own reply: fewer entries at a time
            else if (rec && rec != redis_detail::errc::closed &&
                     retries.again(rec, std::chrono::steady_clock::now()))
                SIO_LOG(adapter, debug, "redis streams adapter: reading the stream for ", session->sid,
                        " failed (", rec.message(), "); trying again");
            else if (rec || entries.type != reply::kind::array)
                co_return fail("the stream could not be read"); // a partial replay is no recovery
            if (rec) {
                net::steady_timer t(co_await net::this_coro::executor, delay);
                co_await t.async_wait(net::as_tuple(net::use_awaitable));
                delay = std::min(delay * 2, std::max(o.reconnect_min, o.reconnect_max));
                continue;
            }
            for (const auto& entry : entries.elements) {
                if (entry.type != reply::kind::array || entry.elements.size() < 2 ||
                    !streams_detail::valid_offset(entry.elements[0].str))
                    continue;
                from = entry.elements[0].str;
                ++entries_read;
                bytes_read += from.size();
                if (entry.elements[1].type == reply::kind::array)
                    for (const auto& f : entry.elements[1].elements)
                        bytes_read += f.str.size();
                if (entries_read > o.max_restore_entries)
                    co_return fail("more entries than max_restore_entries after its offset");
                if (bytes_read > o.max_restore_bytes)
                    co_return fail("more bytes than max_restore_bytes after its offset");
                replay(entry, *session, out.missed, sources);
            }
            if (entries.elements.size() < chunk)
                break; // the end of the stream
        }
        {
            std::lock_guard lock(admission_mutex_);
            window_.read(token, entry_id::parse(from).value_or(entry_id{}), std::move(sources));
        }
        out.session = std::move(*session);
        co_return out;
    }

    /// Delivers the answered XADDs at the head of the queue, in order, one thread at a time (another one
    /// that finds a thread at it leaves its answer to that thread).
    void deliver_answered_xadds() {
        std::unique_lock lock(xadds_mutex_);
        if (delivering_xadds_)
            return;
        delivering_xadds_ = true;
        struct done_guard {
            std::unique_lock<std::mutex>& lock;
            bool& flag;
            ~done_guard() {
                if (!lock.owns_lock())
                    lock.lock();
                flag = false;
            }
        } guard{lock, delivering_xadds_};
        while (!xadds_.empty() && xadds_.front()->answered) {
            auto slot = std::move(xadds_.front());
            xadds_.pop_front();
            lock.unlock();
            xadd_answered(slot->broadcast, slot->ec, std::move(slot->answer));
            lock.lock();
        }
    }

    /// A kept broadcast's XADD was answered: delivered here, with its offset when Redis gave one.
    void xadd_answered(std::pair<protocol::packet, broadcast_flags>& shared, std::error_code ec, reply r) {
        auto& [p, fl] = shared;
        std::lock_guard lock(admission_mutex_);
        std::vector<std::string> replayed_to; // sockets that got it in their replay already
        if (!ec && r.type == reply::kind::string) {
            p.data.as_array().emplace_back(r.str);
            if (const auto id = entry_id::parse(r.str)) {
                replayed_to = window_.delivered(*id, entry_source::own_reply);
                if (window_.recording())
                    window_.record(*id, fl.rooms, fl.except, host().codec().encode(p));
            }
        } else
            SIO_LOG(adapter, warning, "redis streams adapter: a broadcast on ", host().name(),
                    " did not reach Redis (", ec ? ec.message() : r.str,
                    "): delivered here without an offset");
        broadcast_except_sockets(std::move(p), fl, replayed_to);
    }

    /// A local broadcast that leaves out the sockets of ids `sockets` (those sockets only: not the other
    /// members of rooms of those names, which an `except` of the id would leave out too).
    void broadcast_except_sockets(protocol::packet p, const broadcast_flags& fl,
                                  const std::vector<std::string>& sockets) {
        if (sockets.empty()) {
            local_broadcast(std::move(p), fl);
            return;
        }
        p.nsp = host().name();
        auto sinks = local_sinks(fl);
        std::erase_if(sinks, [&](const std::shared_ptr<socket_sink>& s) {
            return std::find(sockets.begin(), sockets.end(), s->id()) != sockets.end();
        });
        deliver(p, sinks, fl.volatile_, fl.compress);
    }

    /// Adds a stream entry to the replay when it is a broadcast of this namespace that reaches the session
    /// (the reference's filter, volatile broadcasts included as the reference includes them; a hostile
    /// entry is skipped), with who delivers it on this server.
    void replay(const reply& entry, const recovery_session& session,
                std::vector<protocol::encoded_packet>& out,
                std::vector<std::pair<entry_id, entry_source>>& sources) {
        std::vector<std::pair<std::string_view, std::string_view>> fields;
        const auto& f = entry.elements[1];
        if (f.type != reply::kind::array)
            return;
        for (std::size_t i = 0; i + 1 < f.elements.size(); i += 2)
            if (f.elements[i].type == reply::kind::string && f.elements[i + 1].type == reply::kind::string)
                fields.emplace_back(f.elements[i].str, f.elements[i + 1].str);
        auto d = streams_detail::decode_entry(fields);
        const auto id = entry_id::parse(entry.elements[0].str);
        if (!id || d.result != streams_detail::decoded_message::outcome::message || d.nsp != host().name() ||
            d.message.type != cluster_message::kind::broadcast || !d.message.request_id.empty() ||
            !streams_detail::reaches(session.rooms, d.message.opts))
            return;
        const auto source = d.message.uid != uid()     ? entry_source::reader
                            : d.message.opts.volatile_ ? entry_source::own_earlier
                                                       : entry_source::own_reply;
        out.push_back(replay_packet(host(), d.message, entry.elements[0].str));
        sources.emplace_back(*id, source);
    }

    std::shared_ptr<streams_link> link_;
    const std::string stream_;
    const std::string public_channel_;
    const std::string own_channel_;
    std::shared_ptr<const connection_state_recovery_options> recovery_; // set once, before any traffic
    std::mutex close_mutex_;
    std::shared_ptr<streams_link::endpoint> endpoint_;
    // Held while a replayable entry is delivered here (bookkeeping, then the sockets' queues) and while a
    // recovered socket is admitted (replay, then the room table); never while application code runs.
    std::mutex admission_mutex_;
    admission_window window_;             // under admission_mutex_
    std::chrono::milliseconds retention_; // MINID trimming when not 0; set before any traffic
    // Kept broadcasts whose XADD was issued, in that order: delivered here once answered, each after the
    // ones before it.
    struct pending_xadd {
        std::pair<protocol::packet, broadcast_flags> broadcast;
        bool answered = false; // under xadds_mutex_, with ec and answer
        std::error_code ec;
        reply answer;
    };
    std::mutex xadds_mutex_;
    std::deque<std::shared_ptr<pending_xadd>> xadds_;           // under xadds_mutex_
    bool delivering_xadds_ = false;                             // under xadds_mutex_
    const std::shared_ptr<streams_detail::live_sessions> live_; // crash-safe sessions; null when off
    std::atomic<bool> live_attached_{false};                    // set before any traffic
};

} // namespace

adapter_factory redis_streams_adapter(redis_streams_options options) {
    auto link = std::make_shared<streams_link>(std::move(options));
    auto live = streams_detail::make_live_sessions(link);
    return [link, live](adapter_host& host) -> std::unique_ptr<adapter> {
        return std::make_unique<redis_streams_adapter_impl>(host, link, live);
    };
}

} // namespace sio
