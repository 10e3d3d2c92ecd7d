#include <sio/adapter/memory.hpp>
#include <sio/socket_sink.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "../log.hpp"
#include "../result_channel.hpp"

namespace sio {

namespace net = boost::asio;

// --- adapter: room events ------------------------------------------------------------------------------

void adapter::on_create_room(std::function<void(const std::string&)> handler) {
    on_create_room_.push_back(std::move(handler));
}
void adapter::on_delete_room(std::function<void(const std::string&)> handler) {
    on_delete_room_.push_back(std::move(handler));
}
void adapter::on_join_room(std::function<void(const std::string&, const std::string&)> handler) {
    on_join_room_.push_back(std::move(handler));
}
void adapter::on_leave_room(std::function<void(const std::string&, const std::string&)> handler) {
    on_leave_room_.push_back(std::move(handler));
}

namespace {

template <class Handlers, class... Args>
void run_room_handlers(const Handlers& handlers, const Args&... args) {
    for (const auto& h : handlers) {
        try {
            h(args...);
        } catch (...) { // an application handler must not break the room table
        }
    }
}

} // namespace

void adapter::emit_create_room(const std::string& room) const {
    run_room_handlers(on_create_room_, room);
}
void adapter::emit_delete_room(const std::string& room) const {
    run_room_handlers(on_delete_room_, room);
}
void adapter::emit_join_room(const std::string& room, const std::string& sid) const {
    run_room_handlers(on_join_room_, room, sid);
}
void adapter::emit_leave_room(const std::string& room, const std::string& sid) const {
    run_room_handlers(on_leave_room_, room, sid);
}
bool adapter::add_recovered_socket(const socket& s, restored_session& restored,
                                   const std::function<bool()>& write) {
    if (!write())
        return false;
    add_socket(s);
    auto rooms = restored.session.rooms;
    const bool own = std::erase(rooms, s.id()) > 0;
    if (!rooms.empty())
        add_all(s, rooms);
    if (!own)
        del(s, s.id());
    return true;
}
bool adapter::has_room_handlers() const noexcept {
    return !on_create_room_.empty() || !on_delete_room_.empty() || !on_join_room_.empty() ||
           !on_leave_room_.empty();
}

// --- memory_adapter ------------------------------------------------------------------------------------

namespace {

/// A room change, reported to the room handlers once the table's lock is released.
struct room_event {
    enum class kind { create, remove, join, leave } type;
    std::string room;
    std::string sid;
};

} // namespace

struct memory_adapter::state {
    // Every socket is in the room named after its id from the start. That room is implicit: the socket's
    // entry stands for it (`own_room`), so a connection costs no room table entry. A socket that leaves
    // its own room and joins it again holds it like any other room.
    struct member {
        std::shared_ptr<socket_sink> sink; // the socket, as this adapter delivers to it
        bool own_room = true;
        /// The other rooms, in joining order (like the reference's Set); a socket is in few rooms, so a
        /// vector (no hash table per socket) and linear lookups.
        std::vector<std::string> rooms;
        const std::string& id() const noexcept { return sink->id(); }
        bool in(std::string_view room) const noexcept {
            return (own_room && room == id()) || std::find(rooms.begin(), rooms.end(), room) != rooms.end();
        }
    };

    mutable std::mutex mutex;
    std::unordered_map<std::string_view, member> sockets; // by socket id (the key views the sink's id)
    std::unordered_map<std::string, std::unordered_set<socket_sink*>> rooms; // but the implicit ones

    /// The socket whose implicit room is `room`, or null.
    const member* own_room_of(std::string_view room) const {
        const auto it = sockets.find(room);
        return it != sockets.end() && it->second.own_room ? &it->second : nullptr;
    }

    // Under the lock; `events` is null when nobody listens.
    void join(member& m, const std::string& room, std::vector<room_event>* events) {
        if (m.in(room))
            return;
        m.rooms.push_back(room);
        auto [it, created] = rooms.try_emplace(room);
        it->second.insert(m.sink.get());
        if (events) {
            if (created && !own_room_of(room))
                events->push_back({room_event::kind::create, room, {}});
            events->push_back({room_event::kind::join, room, m.id()});
        }
    }
    void leave(member& m, const std::string& room, std::vector<room_event>* events) {
        if (m.own_room && room == m.id()) {
            m.own_room = false;
            if (events) {
                events->push_back({room_event::kind::leave, room, m.id()});
                if (!rooms.contains(room))
                    events->push_back({room_event::kind::remove, room, {}});
            }
            return;
        }
        const auto it = std::find(m.rooms.begin(), m.rooms.end(), room);
        if (it == m.rooms.end())
            return;
        m.rooms.erase(it);
        remove_from_room(m, room, events);
    }
    /// Leaves every room, the implicit one first (it was joined first).
    void leave_all(member& m, std::vector<room_event>* events) {
        if (m.own_room)
            leave(m, m.id(), events);
        for (const auto& room : m.rooms)
            remove_from_room(m, room, events);
        m.rooms.clear();
    }
    void remove_from_room(const member& m, const std::string& room, std::vector<room_event>* events) {
        auto it = rooms.find(room);
        if (it == rooms.end())
            return;
        it->second.erase(m.sink.get());
        if (events)
            events->push_back({room_event::kind::leave, room, m.id()});
        if (it->second.empty()) {
            rooms.erase(it);
            if (events && !own_room_of(room))
                events->push_back({room_event::kind::remove, room, {}});
        }
    }

    /// Runs the room handlers for `events` (outside the lock).
    static void report(const memory_adapter& self, const std::vector<room_event>& events) {
        for (const auto& e : events) {
            switch (e.type) {
            case room_event::kind::create:
                self.emit_create_room(e.room);
                break;
            case room_event::kind::remove:
                self.emit_delete_room(e.room);
                break;
            case room_event::kind::join:
                self.emit_join_room(e.room, e.sid);
                break;
            case room_event::kind::leave:
                self.emit_leave_room(e.room, e.sid);
                break;
            }
        }
    }

    bool excluded(const member& m, const std::vector<std::string>& except) const {
        return std::any_of(except.begin(), except.end(), [&](const std::string& r) { return m.in(r); });
    }

    std::vector<std::shared_ptr<socket_sink>> select(const broadcast_flags& f) const {
        std::vector<std::shared_ptr<socket_sink>> out;
        std::lock_guard lock(mutex);
        if (f.rooms.empty()) {
            out.reserve(sockets.size());
            for (const auto& [id, m] : sockets)
                if (f.except.empty() || !excluded(m, f.except))
                    out.push_back(m.sink);
            return out;
        }
        // A socket may be reached twice only through several rooms (an implicit room's socket is never in
        // the table's entry of the same name).
        std::unordered_set<const socket_sink*> seen;
        const bool dedupe = f.rooms.size() > 1;
        const auto consider = [&](const member& m) {
            if (dedupe && !seen.insert(m.sink.get()).second)
                return;
            if (f.except.empty() || !excluded(m, f.except))
                out.push_back(m.sink);
        };
        for (const auto& room : f.rooms) {
            if (const auto* owner = own_room_of(room))
                consider(*owner);
            auto it = rooms.find(room);
            if (it == rooms.end())
                continue;
            for (auto* s : it->second)
                consider(sockets.at(s->id()));
        }
        return out;
    }
};

memory_adapter::memory_adapter(adapter_host& host) : adapter(host), state_(std::make_unique<state>()) {}
memory_adapter::~memory_adapter() = default;

namespace {

/// The handles of `sinks` (a sink that is not a socket of the library, a test's fake, has none).
std::vector<socket> handles_of(const std::vector<std::shared_ptr<socket_sink>>& sinks) {
    std::vector<socket> out;
    out.reserve(sinks.size());
    for (const auto& sink : sinks)
        if (auto h = sink->handle())
            out.push_back(std::move(h));
    return out;
}

} // namespace

void memory_adapter::add_socket(const socket& s) {
    if (recovery_)
        recovery_socket_added(s.id());
    add_sink(socket_sink::of(s));
}
void memory_adapter::remove_socket(const socket& s) {
    remove_sink(s.id());
    if (recovery_)
        recovery_socket_removed(s.id());
}
void memory_adapter::add_all(const socket& s, const std::vector<std::string>& rooms) {
    join_rooms(s.id(), rooms);
}
void memory_adapter::del(const socket& s, const std::string& room) {
    leave_room(s.id(), room);
}
std::vector<std::string> memory_adapter::socket_rooms(const socket& s) const {
    return rooms_of(s.id());
}
std::vector<socket> memory_adapter::local_sockets(const broadcast_flags& flags) const {
    return handles_of(state_->select(flags));
}

void memory_adapter::add_sink(std::shared_ptr<socket_sink> sink) {
    std::vector<room_event> events;
    auto* ev = has_room_handlers() ? &events : nullptr;
    {
        std::lock_guard lock(state_->mutex);
        const std::string& id = sink->id();
        if (state_->sockets.contains(id))
            return;
        state_->sockets.emplace(std::string_view(id), state::member{std::move(sink), true, {}});
        if (ev) { // the implicit room
            if (!state_->rooms.contains(id))
                ev->push_back({room_event::kind::create, id, {}});
            ev->push_back({room_event::kind::join, id, id});
        }
    }
    state::report(*this, events);
}

std::function<void()> memory_adapter::add_sink_in_rooms(std::shared_ptr<socket_sink> sink,
                                                        std::vector<std::string> rooms) {
    auto events = std::make_shared<std::vector<room_event>>();
    auto* ev = has_room_handlers() ? events.get() : nullptr;
    {
        std::lock_guard lock(state_->mutex);
        const std::string& id = sink->id();
        if (state_->sockets.contains(id))
            return {};
        const bool own = std::erase(rooms, id) > 0;
        auto& m = state_->sockets.emplace(std::string_view(id), state::member{std::move(sink), own, {}})
                      .first->second;
        if (ev && own) { // the implicit room
            if (!state_->rooms.contains(id))
                ev->push_back({room_event::kind::create, id, {}});
            ev->push_back({room_event::kind::join, id, id});
        }
        for (const auto& room : rooms)
            state_->join(m, room, ev);
    }
    if (events->empty())
        return {};
    return [this, events] { state::report(*this, *events); };
}

void memory_adapter::remove_sink(const std::string& id) {
    std::vector<room_event> events;
    auto* ev = has_room_handlers() ? &events : nullptr;
    state::member removed;
    {
        std::lock_guard lock(state_->mutex);
        auto it = state_->sockets.find(id);
        if (it == state_->sockets.end())
            return;
        state_->leave_all(it->second, ev);
        removed = std::move(it->second);
        state_->sockets.erase(it);
    }
    state::report(*this, events);
}

void memory_adapter::join_rooms(const std::string& id, const std::vector<std::string>& rooms) {
    std::vector<room_event> events;
    auto* ev = has_room_handlers() ? &events : nullptr;
    {
        std::lock_guard lock(state_->mutex);
        auto it = state_->sockets.find(id);
        if (it == state_->sockets.end())
            return; // disconnected
        for (const auto& room : rooms)
            state_->join(it->second, room, ev);
    }
    state::report(*this, events);
}

void memory_adapter::leave_room(const std::string& id, const std::string& room) {
    std::vector<room_event> events;
    auto* ev = has_room_handlers() ? &events : nullptr;
    {
        std::lock_guard lock(state_->mutex);
        auto it = state_->sockets.find(id);
        if (it == state_->sockets.end())
            return;
        state_->leave(it->second, room, ev);
    }
    state::report(*this, events);
}

std::vector<std::string> memory_adapter::rooms_of(const std::string& id) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->sockets.find(id);
    if (it == state_->sockets.end())
        return {};
    const auto& m = it->second;
    std::vector<std::string> out;
    out.reserve(m.rooms.size() + 1);
    if (m.own_room)
        out.push_back(m.id());
    out.insert(out.end(), m.rooms.begin(), m.rooms.end());
    return out;
}

std::vector<std::shared_ptr<socket_sink>> memory_adapter::local_sinks(const broadcast_flags& flags) const {
    return state_->select(flags);
}

std::vector<std::string> memory_adapter::local_rooms() const {
    std::lock_guard lock(state_->mutex);
    std::vector<std::string> out;
    out.reserve(state_->rooms.size() + state_->sockets.size());
    for (const auto& [room, members] : state_->rooms)
        out.push_back(room);
    for (const auto& [id, m] : state_->sockets)
        if (m.own_room && !state_->rooms.contains(m.id()))
            out.emplace_back(id);
    return out;
}

// --- local operations ----------------------------------------------------------------------------------

void memory_adapter::local_broadcast(protocol::packet p, const broadcast_flags& flags) {
    p.nsp = host().name();
    const auto targets = state_->select(flags);
    SIO_LOG(adapter, debug, "broadcast on ", p.nsp, " to ", targets.size(), " sockets");
    deliver(p, targets, flags.volatile_, flags.compress); // encoded once, whatever the number of recipients
}

std::size_t memory_adapter::local_broadcast_with_ack(protocol::packet packet, const broadcast_flags& flags,
                                                     std::function<void(ack_result)> on_ack) {
    packet.nsp = host().name();
    return deliver_with_ack(packet, state_->select(flags), flags.timeout, flags.compress, std::move(on_ack));
}

void memory_adapter::local_add_sockets(const broadcast_flags& flags, const std::vector<std::string>& rooms) {
    for (const auto& s : state_->select(flags))
        join_rooms(s->id(), rooms);
}

void memory_adapter::local_del_sockets(const broadcast_flags& flags, const std::vector<std::string>& rooms) {
    for (const auto& s : state_->select(flags))
        for (const auto& room : rooms)
            leave_room(s->id(), room);
}

void memory_adapter::local_disconnect_sockets(const broadcast_flags& flags, bool close) {
    for (const auto& s : handles_of(state_->select(flags)))
        s.disconnect(close);
}

namespace {

/// Runs `fn` for each socket on the socket's strand; resolves once every call returned.
net::awaitable<void> run_on_strands(std::vector<socket> targets, std::function<void(const socket&)> fn) {
    if (targets.empty())
        co_return;
    auto remaining = std::make_shared<std::atomic<std::size_t>>(targets.size());
    auto channel = std::make_shared<detail::result_channel<bool>>(co_await net::this_coro::executor, 1);
    auto shared_fn = std::make_shared<std::function<void(const socket&)>>(std::move(fn));
    for (auto& s : targets) {
        net::dispatch(s.executor(), [s, shared_fn, remaining, channel] {
            (*shared_fn)(s);
            if (--*remaining == 0)
                channel->try_send(boost::system::error_code{}, true);
        });
    }
    (void)co_await channel->async_receive(net::as_tuple(net::use_awaitable));
}

} // namespace

net::awaitable<std::vector<socket_details>>
memory_adapter::local_socket_details(broadcast_flags flags) const {
    auto targets = handles_of(state_->select(flags));
    // `data` belongs to each socket's strand: it is copied there.
    auto out = std::make_shared<std::pair<std::mutex, std::vector<socket_details>>>();
    out->second.reserve(targets.size());
    // A named function, not a lambda temporary in the co_await expression (GCC 12 miscompiles those).
    std::function<void(const socket&)> copy = [this, out](const socket& s) {
        socket_details d;
        d.id = s.id();
        d.handshake = s.handshake();
        d.rooms = socket_rooms(s);
        d.data = s.data();
        std::lock_guard lock(out->first);
        out->second.push_back(std::move(d));
    };
    co_await run_on_strands(std::move(targets), std::move(copy));
    std::vector<socket_details> result = std::move(out->second);
    co_return result;
}

// --- the adapter interface, for one server --------------------------------------------------------------

void memory_adapter::broadcast(protocol::packet packet, const broadcast_flags& flags) {
    if (recovery_ && store_and_deliver(packet, flags))
        return;
    local_broadcast(std::move(packet), flags);
}

net::awaitable<broadcast_ack_result> memory_adapter::broadcast_with_ack(protocol::packet packet,
                                                                        broadcast_flags flags) {
    if (!flags.timeout)
        co_return broadcast_ack_result{error::invalid_argument, {}};
    struct collect {
        std::mutex mutex;
        std::size_t remaining = 0;
        bool counted = false;
        broadcast_ack_result result;
    };
    auto c = std::make_shared<collect>();
    auto channel =
        std::make_shared<detail::result_channel<broadcast_ack_result>>(co_await net::this_coro::executor, 1);
    // The recipients answer on their own strands; the last one hands the result over.
    const std::size_t count = local_broadcast_with_ack(std::move(packet), flags, [c, channel](ack_result r) {
        std::lock_guard lock(c->mutex);
        if (r.error)
            c->result.error = error::ack_timeout;
        else
            c->result.responses.push_back(std::move(r.args));
        if (--c->remaining == 0 && c->counted)
            channel->try_send(boost::system::error_code{}, std::move(c->result));
    });
    {
        // Answers may arrive before the count is known: `remaining` went below zero (wrapped) then.
        std::lock_guard lock(c->mutex);
        c->remaining += count;
        c->counted = true;
        if (c->remaining == 0)
            channel->try_send(boost::system::error_code{}, std::move(c->result));
    }
    auto [ec, result] = co_await channel->async_receive(net::as_tuple(net::use_awaitable));
    if (ec)
        result.error = ec;
    co_return std::move(result);
}

net::awaitable<std::error_code> memory_adapter::add_sockets(broadcast_flags flags,
                                                            std::vector<std::string> rooms) {
    local_add_sockets(flags, rooms);
    co_return std::error_code{};
}

net::awaitable<std::error_code> memory_adapter::del_sockets(broadcast_flags flags,
                                                            std::vector<std::string> rooms) {
    local_del_sockets(flags, rooms);
    co_return std::error_code{};
}

net::awaitable<std::error_code> memory_adapter::disconnect_sockets(broadcast_flags flags, bool close) {
    // Resolves once every selected socket has left (each on its own strand).
    std::function<void(const socket&)> leave = [close](const socket& s) { s.disconnect(close); };
    co_await run_on_strands(handles_of(state_->select(flags)), std::move(leave));
    co_return std::error_code{};
}

net::awaitable<fetched_sockets> memory_adapter::fetch_sockets(broadcast_flags flags) {
    fetched_sockets out;
    out.local = handles_of(state_->select(flags));
    co_return out;
}

net::awaitable<room_list> memory_adapter::all_rooms() {
    room_list out;
    out.rooms = local_rooms();
    co_return out;
}

net::awaitable<std::error_code> memory_adapter::server_side_emit(std::string, arguments) {
    co_return std::error_code{}; // there is no other server
}

net::awaitable<server_side_responses> memory_adapter::server_side_emit_with_ack(std::string, arguments,
                                                                                std::chrono::milliseconds) {
    co_return server_side_responses{};
}

net::awaitable<std::size_t> memory_adapter::server_count() {
    co_return std::size_t{1};
}

} // namespace sio
