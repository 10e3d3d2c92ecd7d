#include <sio/adapter/cluster.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include "../log.hpp"
#include "../result_channel.hpp"
#include "../socketio/event_packet.hpp"

namespace sio {

namespace net = boost::asio;
using kind = cluster_message::kind;

bool cluster_message::is_response() const noexcept {
    switch (type) {
    case kind::fetch_sockets_response:
    case kind::server_side_emit_response:
    case kind::broadcast_client_count:
    case kind::broadcast_ack:
    case kind::all_rooms_response:
        return true;
    default:
        return false;
    }
}

namespace {

/// 16 random hex characters (server uids and request ids, like the reference's cluster adapter).
std::string random_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdef";
    auto bits = rng();
    std::string out(16, '0');
    for (char& c : out) {
        c = digits[bits & 0xf];
        bits >>= 4;
    }
    return out;
}

using clock_type = std::chrono::steady_clock;

/// What is left of `budget` since `start`: a request's wait for answers is what its count of servers
/// left of its timeout, so that the whole request takes one timeout at most.
std::chrono::milliseconds left_of(std::chrono::milliseconds budget, clock_type::time_point start) {
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    return spent >= budget ? std::chrono::milliseconds(0) : budget - spent;
}

/// The event and arguments of an EVENT packet `[event, args...]`.
void split_event(const protocol::packet& p, cluster_message& m) {
    const auto& values = p.data.as_array();
    m.event = std::string(values.front().as_string());
    m.args.values = boost::json::array(values.begin() + 1, values.end());
    m.args.attachments = p.attachments;
}

} // namespace

/// A request waiting for the other servers' responses.
struct cluster_adapter::pending {
    enum class outcome { complete, timeout, closed };

    pending(net::any_io_executor ex, kind t, std::size_t n)
        : type(t), servers(n), timer(ex), channel(std::make_shared<detail::result_channel<outcome>>(ex, 1)) {}

    const std::string id = random_id();
    const kind type;
    const std::size_t servers; // other servers expected to answer

    std::mutex mutex;
    std::set<std::string> answered; // uids of the servers that answered
    std::size_t answers = 0;
    std::vector<socket_details> sockets;
    std::vector<arguments> responses;
    std::set<std::string> rooms;
    // Broadcast with acknowledgements: client counts per server, then one ack per client.
    std::size_t counted_servers = 0;
    std::size_t remote_clients = 0;
    std::size_t remote_acks = 0;
    bool local_counted = false;
    std::size_t local_clients = 0;
    std::size_t local_done = 0;
    bool local_failed = false;

    net::steady_timer timer;
    std::shared_ptr<detail::result_channel<outcome>> channel;
    bool done = false;
    outcome result = outcome::complete;

    /// Under `mutex`: true when everything expected has arrived.
    bool satisfied() const {
        if (type == kind::broadcast)
            return local_counted && local_done == local_clients && counted_servers >= servers &&
                   remote_acks >= remote_clients;
        return answers >= servers;
    }
    /// Under `mutex`: hands the outcome to the waiting coroutine once.
    void finish(outcome o) {
        if (done)
            return;
        done = true;
        result = o;
        channel->try_send(boost::system::error_code{}, o);
    }
    net::awaitable<outcome> wait(std::chrono::milliseconds timeout, std::shared_ptr<pending> self) {
        timer.expires_after(timeout);
        timer.async_wait([self](boost::system::error_code ec) {
            if (ec)
                return;
            std::lock_guard lock(self->mutex);
            self->finish(outcome::timeout);
        });
        auto [ec, o] = co_await channel->async_receive(net::as_tuple(net::use_awaitable));
        timer.cancel();
        co_return ec ? outcome::closed : o;
    }
};

struct cluster_adapter::state {
    std::string uid;
    std::chrono::milliseconds requests_timeout;
    std::atomic<bool> closed{false};
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<pending>> requests;
    bool subscribed = true; ///< under mutex, with ready_waiters
    std::vector<std::shared_ptr<detail::result_channel<bool>>> ready_waiters;

    /// Under mutex: the waiters to wake now (subscribed or closed).
    std::vector<std::shared_ptr<detail::result_channel<bool>>> take_ready_waiters() {
        std::vector<std::shared_ptr<detail::result_channel<bool>>> out;
        if (subscribed || closed.load())
            out.swap(ready_waiters);
        return out;
    }
};

cluster_adapter::cluster_adapter(adapter_host& host, cluster_options options)
    : memory_adapter(host), state_(std::make_shared<state>()) {
    state_->uid = options.uid.empty() ? random_id() : std::move(options.uid);
    state_->requests_timeout = options.requests_timeout;
}

cluster_adapter::~cluster_adapter() {
    close();
}

const std::string& cluster_adapter::uid() const noexcept {
    return state_->uid;
}

void cluster_adapter::close() {
    std::unordered_map<std::string, std::shared_ptr<pending>> requests;
    std::vector<std::shared_ptr<detail::result_channel<bool>>> waiters;
    {
        std::lock_guard lock(state_->mutex);
        if (state_->closed.exchange(true))
            return;
        requests.swap(state_->requests);
        waiters = state_->take_ready_waiters();
    }
    for (auto& w : waiters)
        w->try_send(boost::system::error_code{}, false);
    for (auto& [id, p] : requests) {
        std::lock_guard lock(p->mutex);
        p->finish(pending::outcome::closed);
    }
}

void cluster_adapter::set_subscribed(bool subscribed) {
    std::vector<std::shared_ptr<detail::result_channel<bool>>> waiters;
    {
        std::lock_guard lock(state_->mutex);
        state_->subscribed = subscribed;
        waiters = state_->take_ready_waiters();
    }
    for (auto& w : waiters)
        w->try_send(boost::system::error_code{}, true);
}

// Holds the adapter's state, not the adapter: the adapter may be destroyed while this waits.
net::awaitable<std::error_code> cluster_adapter::wait_subscribed(std::shared_ptr<state> st) {
    const auto ex = co_await net::this_coro::executor;
    for (;;) {
        std::shared_ptr<detail::result_channel<bool>> waiter;
        {
            std::lock_guard lock(st->mutex);
            if (st->closed.load())
                co_return make_error_code(error::adapter_closed);
            if (st->subscribed)
                co_return std::error_code{};
            waiter = std::make_shared<detail::result_channel<bool>>(ex, 1);
            st->ready_waiters.push_back(waiter);
        }
        auto [ec, woken] = co_await waiter->async_receive(net::as_tuple(net::use_awaitable));
        if (ec) // cancelled
            co_return std::error_code(ec);
    }
}

net::awaitable<std::error_code> cluster_adapter::ready() {
    return wait_subscribed(state_);
}

// --- requests ------------------------------------------------------------------------------------------

std::shared_ptr<cluster_adapter::pending> cluster_adapter::start_request(kind type, std::size_t servers) {
    auto p = std::make_shared<pending>(host().executor(), type, servers);
    SIO_LOG(adapter, debug, "cluster request ", p->id, " (type ", type, ") to ", servers, " servers");
    std::lock_guard lock(state_->mutex);
    if (state_->closed.load()) { // closed meanwhile: done at once, not after the timeout
        std::lock_guard plock(p->mutex);
        p->finish(pending::outcome::closed);
        return p;
    }
    state_->requests.emplace(p->id, p);
    return p;
}

void cluster_adapter::finish_request(const std::shared_ptr<pending>& p) {
    std::lock_guard lock(state_->mutex);
    state_->requests.erase(p->id);
}

void cluster_adapter::fill_status(cluster_status& status, const pending& p) const {
    if (p.result == pending::outcome::timeout)
        SIO_LOG(adapter, debug, "cluster request ", p.id, " timed out");
    if (p.result == pending::outcome::timeout)
        status.error = error::cluster_timeout;
    else if (p.result == pending::outcome::closed)
        status.error = error::adapter_closed;
    status.expected = p.servers;
    status.answered = p.answered.size() > p.answers ? p.answered.size() : p.answers;
    if (status.answered < status.expected) {
        for (auto& id : other_server_ids())
            if (!p.answered.contains(id))
                status.silent.push_back(id);
    }
}

net::awaitable<fetched_sockets> cluster_adapter::fetch_sockets(broadcast_flags flags) {
    fetched_sockets out;
    out.local = local_sockets(flags);
    if (flags.local || state_->closed.load())
        co_return out;
    const auto start = clock_type::now();
    const std::size_t n = co_await remote_server_count();
    if (n <= 1)
        co_return out;
    auto p = start_request(kind::fetch_sockets, n - 1);
    cluster_message m;
    m.type = kind::fetch_sockets;
    m.uid = state_->uid;
    m.request_id = p->id;
    m.opts = flags;
    if (auto ec = co_await publish(std::move(m))) {
        finish_request(p);
        out.error = ec;
        out.expected = n - 1;
        co_return out;
    }
    (void)co_await p->wait(left_of(state_->requests_timeout, start), p);
    finish_request(p);
    std::lock_guard lock(p->mutex);
    out.remote = std::move(p->sockets);
    fill_status(out, *p);
    co_return out;
}

net::awaitable<room_list> cluster_adapter::all_rooms() {
    room_list out;
    std::set<std::string> rooms;
    for (auto& r : local_rooms())
        rooms.insert(std::move(r));
    std::size_t n = 1; // no `cond ? co_await a : b` (GCC 12 miscompiles it)
    const auto start = clock_type::now();
    if (!state_->closed.load())
        n = co_await remote_server_count();
    if (n > 1) {
        auto p = start_request(kind::all_rooms, n - 1);
        cluster_message m;
        m.type = kind::all_rooms;
        m.uid = state_->uid;
        m.request_id = p->id;
        if (auto ec = co_await publish(std::move(m))) {
            finish_request(p);
            out.error = ec;
        } else {
            (void)co_await p->wait(left_of(state_->requests_timeout, start), p);
            finish_request(p);
            std::lock_guard lock(p->mutex);
            rooms.merge(p->rooms);
            fill_status(out, *p);
        }
    }
    out.rooms.assign(rooms.begin(), rooms.end());
    co_return out;
}

net::awaitable<std::error_code> cluster_adapter::server_side_emit(std::string event, arguments args) {
    if (state_->closed.load())
        co_return make_error_code(error::adapter_closed);
    cluster_message m;
    m.type = kind::server_side_emit;
    m.uid = state_->uid;
    m.event = std::move(event);
    m.args = std::move(args);
    co_return co_await publish(std::move(m));
}

net::awaitable<server_side_responses>
cluster_adapter::server_side_emit_with_ack(std::string event, arguments args,
                                           std::chrono::milliseconds timeout) {
    server_side_responses out;
    if (state_->closed.load()) {
        out.error = error::adapter_closed;
        co_return out;
    }
    const auto start = clock_type::now();
    const std::size_t n = co_await remote_server_count();
    if (n <= 1)
        co_return out; // nobody else: no answer to wait for, like the reference
    auto p = start_request(kind::server_side_emit, n - 1);
    cluster_message m;
    m.type = kind::server_side_emit;
    m.uid = state_->uid;
    m.request_id = p->id;
    m.event = std::move(event);
    m.args = std::move(args);
    if (auto ec = co_await publish(std::move(m))) {
        finish_request(p);
        out.error = ec;
        out.expected = n - 1;
        co_return out;
    }
    (void)co_await p->wait(left_of(timeout, start), p);
    finish_request(p);
    std::lock_guard lock(p->mutex);
    out.responses = std::move(p->responses);
    fill_status(out, *p);
    co_return out;
}

net::awaitable<std::size_t> cluster_adapter::server_count() {
    co_return co_await remote_server_count();
}

// --- operations on sockets -----------------------------------------------------------------------------

void cluster_adapter::broadcast(protocol::packet packet, const broadcast_flags& flags) {
    if (!flags.local && !state_->closed.load()) {
        cluster_message m;
        m.type = kind::broadcast;
        m.uid = state_->uid;
        m.opts = flags;
        split_event(packet, m);
        net::co_spawn(host().executor(), respond(host().anchor(), this, {}, std::move(m)), net::detached);
    }
    local_broadcast(std::move(packet), flags);
}

net::awaitable<broadcast_ack_result> cluster_adapter::broadcast_with_ack(protocol::packet packet,
                                                                         broadcast_flags flags) {
    if (flags.local || state_->closed.load())
        co_return co_await memory_adapter::broadcast_with_ack(std::move(packet), std::move(flags));
    if (!flags.timeout)
        co_return broadcast_ack_result{error::invalid_argument, {}};
    const auto start = clock_type::now();
    const std::size_t n = co_await remote_server_count();
    auto p = start_request(kind::broadcast, n > 0 ? n - 1 : 0);
    broadcast_ack_result out;
    std::error_code publish_error;
    if (n > 1) {
        cluster_message m;
        m.type = kind::broadcast;
        m.uid = state_->uid;
        m.request_id = p->id;
        m.opts = flags;
        split_event(packet, m);
        if (auto ec = co_await publish(std::move(m))) {
            // The other servers were not reached: this server's sockets still get the packet.
            finish_request(p);
            p = start_request(kind::broadcast, 0);
            publish_error = ec;
        }
    }
    const std::size_t count = local_broadcast_with_ack(std::move(packet), flags, [p](ack_result r) {
        std::lock_guard lock(p->mutex);
        ++p->local_done;
        if (r.error)
            p->local_failed = true;
        else
            p->responses.push_back(std::move(r.args));
        if (p->satisfied())
            p->finish(pending::outcome::complete);
    });
    {
        std::lock_guard lock(p->mutex);
        p->local_clients = count;
        p->local_counted = true;
        if (p->satisfied())
            p->finish(pending::outcome::complete);
    }
    const auto o = co_await p->wait(left_of(*flags.timeout, start), p);
    finish_request(p);
    std::lock_guard lock(p->mutex);
    out.responses = std::move(p->responses);
    if (o != pending::outcome::complete || p->local_failed)
        out.error = o == pending::outcome::closed ? make_error_code(error::adapter_closed)
                                                  : make_error_code(error::ack_timeout);
    else if (publish_error)
        out.error = publish_error;
    co_return out;
}

namespace {

cluster_message sockets_message(kind type, const std::string& uid, const broadcast_flags& flags) {
    cluster_message m;
    m.type = type;
    m.uid = uid;
    m.opts = flags;
    return m;
}

} // namespace

net::awaitable<std::error_code> cluster_adapter::publish_rooms(cluster_message::kind type,
                                                               broadcast_flags flags,
                                                               std::vector<std::string> rooms) {
    if (type == kind::sockets_join)
        local_add_sockets(flags, rooms);
    else
        local_del_sockets(flags, rooms);
    if (flags.local)
        co_return std::error_code{};
    if (state_->closed.load())
        co_return make_error_code(error::adapter_closed);
    auto m = sockets_message(type, state_->uid, flags);
    m.rooms = std::move(rooms);
    co_return co_await publish(std::move(m));
}

net::awaitable<std::error_code> cluster_adapter::add_sockets(broadcast_flags flags,
                                                             std::vector<std::string> rooms) {
    return publish_rooms(kind::sockets_join, std::move(flags), std::move(rooms));
}

net::awaitable<std::error_code> cluster_adapter::del_sockets(broadcast_flags flags,
                                                             std::vector<std::string> rooms) {
    return publish_rooms(kind::sockets_leave, std::move(flags), std::move(rooms));
}

net::awaitable<std::error_code> cluster_adapter::disconnect_sockets(broadcast_flags flags, bool close) {
    (void)co_await memory_adapter::disconnect_sockets(flags, close); // local sockets, awaited
    if (flags.local)
        co_return std::error_code{};
    if (state_->closed.load())
        co_return make_error_code(error::adapter_closed);
    auto m = sockets_message(kind::disconnect_sockets, state_->uid, flags);
    m.close = close;
    co_return co_await publish(std::move(m));
}

// --- messages from the other servers -------------------------------------------------------------------

net::awaitable<void> cluster_adapter::respond(std::shared_ptr<const void> anchor, cluster_adapter* self,
                                              std::string to, cluster_message message) {
    (void)anchor; // keeps the namespace (and this adapter) alive until the message is handed over
    if (to.empty())
        (void)co_await self->publish(std::move(message));
    else
        (void)co_await self->publish_response(std::move(to), std::move(message));
}

net::awaitable<void> cluster_adapter::respond_fetch(std::shared_ptr<const void> anchor, cluster_adapter* self,
                                                    cluster_message request) {
    cluster_message r;
    r.type = kind::fetch_sockets_response;
    r.uid = self->state_->uid;
    r.request_id = std::move(request.request_id);
    r.sockets = co_await self->local_socket_details(std::move(request.opts));
    co_await respond(std::move(anchor), self, std::move(request.uid), std::move(r));
}

void cluster_adapter::send_response(const std::string& to, cluster_message message) {
    if (state_->closed.load())
        return;
    net::co_spawn(host().executor(), respond(host().anchor(), this, to, std::move(message)), net::detached);
}

void cluster_adapter::on_response(cluster_message&& m) {
    std::shared_ptr<pending> p;
    {
        std::lock_guard lock(state_->mutex);
        auto it = state_->requests.find(m.request_id);
        if (it == state_->requests.end())
            return; // late, or not ours
        p = it->second;
    }
    std::lock_guard lock(p->mutex);
    if (p->done)
        return;
    switch (m.type) {
    case kind::fetch_sockets_response:
        if (p->type != kind::fetch_sockets)
            return;
        p->sockets.insert(p->sockets.end(), std::make_move_iterator(m.sockets.begin()),
                          std::make_move_iterator(m.sockets.end()));
        break;
    case kind::all_rooms_response:
        if (p->type != kind::all_rooms)
            return;
        p->rooms.insert(m.rooms.begin(), m.rooms.end());
        break;
    case kind::server_side_emit_response:
        if (p->type != kind::server_side_emit)
            return;
        p->responses.push_back(std::move(m.args));
        break;
    case kind::broadcast_client_count:
        if (p->type != kind::broadcast)
            return;
        ++p->counted_servers;
        p->remote_clients += m.client_count;
        if (!m.uid.empty())
            p->answered.insert(m.uid);
        if (p->satisfied())
            p->finish(pending::outcome::complete);
        return;
    case kind::broadcast_ack:
        if (p->type != kind::broadcast)
            return;
        ++p->remote_acks;
        p->responses.push_back(std::move(m.args));
        if (p->satisfied())
            p->finish(pending::outcome::complete);
        return;
    default:
        return;
    }
    ++p->answers;
    if (!m.uid.empty())
        p->answered.insert(m.uid);
    if (p->satisfied())
        p->finish(pending::outcome::complete);
}

void cluster_adapter::on_message(cluster_message m) {
    if (state_->closed.load() || m.uid == state_->uid)
        return;
    SIO_LOG(adapter, debug, "cluster message type ", m.type, " from ", m.uid);
    if (m.is_response()) {
        on_response(std::move(m));
        return;
    }
    switch (m.type) {
    case kind::broadcast: {
        auto packet = detail::make_event_packet(host().name(), m.event, std::move(m.args));
        if (m.request_id.empty()) {
            local_broadcast(std::move(packet), m.opts);
            return;
        }
        // The requester's timeout, bounded: a peer that sends none (or an absurd one) must not leave
        // acknowledgements pending on this server's sockets for ever.
        const auto cap = std::max(state_->requests_timeout, std::chrono::milliseconds(60000));
        if (!m.opts.timeout || *m.opts.timeout > cap)
            m.opts.timeout = cap;
        auto requester = m.uid;
        auto request_id = m.request_id;
        const std::size_t count = local_broadcast_with_ack(
            std::move(packet), m.opts, [anchor = host().anchor(), this, requester, request_id](ack_result r) {
                if (r.error)
                    return; // the requester's own timeout covers a client that does not answer
                cluster_message ack;
                ack.type = kind::broadcast_ack;
                ack.uid = state_->uid;
                ack.request_id = request_id;
                ack.args = std::move(r.args);
                send_response(requester, std::move(ack));
            });
        cluster_message c;
        c.type = kind::broadcast_client_count;
        c.uid = state_->uid;
        c.request_id = std::move(request_id);
        c.client_count = count;
        send_response(requester, std::move(c));
        return;
    }
    case kind::sockets_join:
        local_add_sockets(m.opts, m.rooms);
        return;
    case kind::sockets_leave:
        local_del_sockets(m.opts, m.rooms);
        return;
    case kind::disconnect_sockets:
        local_disconnect_sockets(m.opts, m.close);
        return;
    case kind::fetch_sockets:
        net::co_spawn(host().executor(), respond_fetch(host().anchor(), this, std::move(m)), net::detached);
        return;
    case kind::all_rooms: {
        cluster_message r;
        r.type = kind::all_rooms_response;
        r.uid = state_->uid;
        r.request_id = std::move(m.request_id);
        r.rooms = local_rooms();
        send_response(m.uid, std::move(r));
        return;
    }
    case kind::server_side_emit: {
        std::function<void(arguments)> reply;
        if (!m.request_id.empty()) {
            reply = [anchor = host().anchor(), this, requester = m.uid,
                     request_id = m.request_id](arguments args) {
                cluster_message r;
                r.type = kind::server_side_emit_response;
                r.uid = state_->uid;
                r.request_id = request_id;
                r.args = std::move(args);
                send_response(requester, std::move(r));
            };
        }
        host().deliver_server_side(std::move(m.event), std::move(m.args), std::move(reply));
        return;
    }
    default:
        return;
    }
}

} // namespace sio
