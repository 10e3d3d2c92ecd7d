#include <sio/adapter.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <cstring>
#include <ctime>
#include <limits>
#include <new>
#include <stdexcept>

#include "../engineio/access.hpp"
#include "../log.hpp"
#include "../manual_clock.hpp"
#include "../result_channel.hpp"
#include "client.hpp"
#include "event_inbox.hpp"
#include "event_packet.hpp"
#include "fanout_queue.hpp"
#include "namespace_state.hpp"
#include "reserved_events.hpp"
#include "server_state.hpp"
#include "socket_state.hpp"

namespace sio {

std::string_view to_string(disconnect_reason reason) noexcept {
    switch (reason) {
    case disconnect_reason::transport_error:
        return "transport error";
    case disconnect_reason::transport_close:
        return "transport close";
    case disconnect_reason::forced_close:
        return "forced close";
    case disconnect_reason::ping_timeout:
        return "ping timeout";
    case disconnect_reason::parse_error:
        return "parse error";
    case disconnect_reason::server_shutting_down:
        return "server shutting down";
    case disconnect_reason::forced_server_close:
        return "forced server close";
    case disconnect_reason::client_namespace_disconnect:
        return "client namespace disconnect";
    case disconnect_reason::server_namespace_disconnect:
        return "server namespace disconnect";
    }
    return "transport error";
}

bool recoverable(disconnect_reason reason) noexcept {
    switch (reason) {
    case disconnect_reason::transport_error:
    case disconnect_reason::transport_close:
    case disconnect_reason::forced_close:
    case disconnect_reason::ping_timeout:
    case disconnect_reason::server_shutting_down:
    case disconnect_reason::forced_server_close:
        return true;
    case disconnect_reason::parse_error:
    case disconnect_reason::client_namespace_disconnect:
    case disconnect_reason::server_namespace_disconnect:
        return false;
    }
    return false;
}

// --- ack --------------------------------------------------------------------------------------------

ack::operator bool() const noexcept {
    return state_ && !state_->sent.load();
}

void ack::send(arguments args) const {
    if (!state_ || state_->sent.exchange(true))
        return;
    if (state_->reply)
        state_->reply(std::move(args));
    else if (auto s = state_->socket.lock())
        s->send_ack(state_->id, std::move(args));
}

// --- emitter ----------------------------------------------------------------------------------------

bool emitter::emit_arguments(std::string_view event, arguments args) const {
    detail::refuse_reserved_emit(event);
    if (!socket_)
        return false;
    const bool connected = socket_->connected_.load();
    if (!connected) {
        // With recovery, an emit to a socket whose client dropped (a recoverable reason) is kept for its
        // replay, as the reference keeps it; otherwise it goes nowhere.
        const auto r = socket_->reason_.load();
        if (!socket_->nsp_->recovers_ || volatile_flag_ || r == 0 ||
            !recoverable(static_cast<disconnect_reason>(r - 1)))
            return false;
    }
    SIO_LOG(socket, debug, "socket ", socket_->id_, " emits ", event);
    if (socket_->nsp_->recovers_ && !volatile_flag_) {
        // Kept for replay, like the reference: a broadcast to the socket's own room (which tells the
        // outgoing listeners).
        broadcast_flags to_self;
        to_self.rooms.push_back(socket_->id_);
        to_self.compress = compress_;
        socket_->nsp_->adapter().broadcast(
            detail::make_event_packet(socket_->nsp_->name_, event, std::move(args)), to_self);
        return true;
    }
    socket_->notify_outgoing(event, args);
    auto p = detail::make_event_packet(socket_->nsp_->name_, event, std::move(args));
    return socket_->send(p, volatile_flag_, compress_);
}

boost::asio::awaitable<ack_result> emitter::emit_with_ack_arguments(std::string event, arguments args) const {
    detail::refuse_reserved_emit(event);
    return emit_with_ack_impl(socket_, timeout_, compress_, std::move(event), std::move(args));
}

boost::asio::awaitable<ack_result>
emitter::emit_with_ack_impl(std::shared_ptr<detail::socket_impl> s,
                            std::optional<std::chrono::milliseconds> timeout, bool compress,
                            std::string event, arguments args) {
    if (!s || !s->connected_.load())
        co_return ack_result{error::not_connected, {}};
    s->notify_outgoing(event, args);
    auto p = detail::make_event_packet(s->nsp_->name_, event, std::move(args));
    // The answer comes from the socket's strand; a channel hands it to this coroutine, on its own executor.
    auto channel =
        std::make_shared<detail::result_channel<ack_result>>(co_await boost::asio::this_coro::executor, 1);
    s->start_ack(std::move(p), timeout, compress,
                 [channel](ack_result r) { channel->try_send(boost::system::error_code{}, std::move(r)); });
    auto [ec, result] = co_await channel->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec)
        result.error = ec;
    co_return std::move(result);
}

// --- socket -----------------------------------------------------------------------------------------

const std::string& socket::id() const noexcept {
    return impl_->id_;
}
const std::string& socket::nsp() const noexcept {
    return impl_->nsp_->name_;
}
const sio::handshake& socket::handshake() const {
    return impl_->handshake();
}
boost::json::value& socket::data() const noexcept {
    return impl_->data_;
}
bool socket::connected() const noexcept {
    return impl_ && impl_->connected_.load();
}
bool socket::recovered() const noexcept {
    return impl_ && impl_->recovered_;
}
boost::asio::any_io_executor socket::executor() const noexcept {
    return impl_->strand();
}
engineio::session socket::conn() const {
    return impl_->session_;
}

void socket::join(std::string room) const {
    SIO_LOG(socket, debug, "socket ", impl_->id_, " joins ", room);
    impl_->nsp_->adapter().add_all(*this, {std::move(room)});
}
void socket::join(const std::vector<std::string>& rooms) const {
    SIO_LOG(socket, debug, "socket ", impl_->id_, " joins ", rooms.size(), " rooms");
    impl_->nsp_->adapter().add_all(*this, rooms);
}
void socket::leave(const std::string& room) const {
    SIO_LOG(socket, debug, "socket ", impl_->id_, " leaves ", room);
    impl_->nsp_->adapter().del(*this, room);
}
std::vector<std::string> socket::rooms() const {
    return impl_->nsp_->adapter().socket_rooms(*this);
}

void socket::on_event(std::string event_name, std::function<void(socket, event&)> handler) const {
    detail::refuse_reserved_socket_listener(event_name);
    auto* slot = impl_->find_handler(event_name);
    auto h = detail::socket_impl::event_handler::make(event_name, std::move(handler));
    if (slot)
        *slot = std::move(h);
    else {
        if (impl_->handlers_.empty())
            impl_->handlers_.reserve(4); // a socket has a few handlers: one allocation, not one per growth
        impl_->handlers_.push_back(std::move(h));
    }
}
void socket::on_any(std::function<void(socket, const event&)> handler) const {
    impl_->listeners_for_update().any.push_back(std::move(handler));
}
void socket::prepend_any(std::function<void(socket, const event&)> handler) const {
    auto& any = impl_->listeners_for_update().any;
    any.insert(any.begin(), std::move(handler));
}
void socket::off_any() const {
    if (impl_->listeners_)
        impl_->listeners_->any.clear();
}
void socket::on_any_outgoing(std::function<void(socket, std::string_view, const arguments&)> handler) const {
    impl_->listeners_for_update().any_outgoing.push_back(std::move(handler));
    impl_->has_outgoing_listeners_.store(true);
}
void socket::prepend_any_outgoing(
    std::function<void(socket, std::string_view, const arguments&)> handler) const {
    auto& any_outgoing = impl_->listeners_for_update().any_outgoing;
    any_outgoing.insert(any_outgoing.begin(), std::move(handler));
    impl_->has_outgoing_listeners_.store(true);
}
void socket::off_any_outgoing() const {
    if (impl_->listeners_)
        impl_->listeners_->any_outgoing.clear();
    impl_->has_outgoing_listeners_.store(false);
}
void socket::use(std::function<std::optional<middleware_error>(socket, event&)> middleware) const {
    impl_->listeners_for_update().middlewares.push_back(std::move(middleware));
}
void socket::on_error(std::function<void(socket, const middleware_error&)> handler) const {
    impl_->listeners_for_update().on_error = std::move(handler);
}
void socket::on_disconnecting(std::function<void(socket, disconnect_reason)> handler) const {
    impl_->listeners_for_update().on_disconnecting.push_back(std::move(handler));
}
void socket::on_disconnect(std::function<void(socket, disconnect_reason)> handler) const {
    impl_->listeners_for_update().on_disconnect.push_back(std::move(handler));
}

broadcast_operator socket::broadcast() const {
    return broadcast_operator(impl_->nsp_).except(impl_->id_);
}
broadcast_operator socket::to(std::string room) const {
    return broadcast().to(std::move(room));
}
broadcast_operator socket::to(const std::vector<std::string>& rooms) const {
    return broadcast().to(rooms);
}
broadcast_operator socket::except(std::string room) const {
    return broadcast().except(std::move(room));
}

void socket::disconnect(bool close) const {
    impl_->disconnect(close);
}

namespace detail {

void report_unconverted_arguments(const socket& s, const event& ev, const char* why) noexcept {
    try {
        SIO_LOG(socket, debug, "socket ", s.id(), " dropped event ", ev.name,
                ": its arguments do not convert to the handler's parameters (", why, ")");
    } catch (...) { // logging must not turn a dropped event into an error
    }
}

void spawn_handler(const socket& s, boost::asio::awaitable<void> handler) {
    boost::asio::co_spawn(s.executor(), std::move(handler), [](std::exception_ptr e) {
        // A failing handler affects nobody else; the exception is dropped.
        if (e)
            SIO_LOG(socket, warning, "a coroutine handler threw");
    });
}

namespace {
bool send_encoded_packet(const engineio::session& session, const protocol::encoded_packet& packet,
                         bool volatile_, bool compress) {
    const engineio::send_options opts{.binary = false, .compress = compress, .volatile_ = volatile_};
    if (packet.attachments.empty()) // the common case: one queue push, no batch to build
        return !session.send(packet.text, opts);
    if (!packet.text && packet.attachments.size() == 1) { // a packet in one binary message (msgpack)
        auto binary = opts;
        binary.binary = true;
        return !session.send(packet.attachments.front(), binary);
    }
    std::vector<engineio::outgoing> batch;
    batch.reserve(1 + packet.attachments.size());
    if (packet.text)
        batch.push_back({packet.text, false});
    for (const auto& a : packet.attachments)
        batch.push_back({a, true});
    return !session.send_batch(std::move(batch), opts);
}
} // namespace

bool send_encoded(const engineio::session& session, const protocol::encoded_packet& packet, bool volatile_,
                  bool compress) {
    return send_encoded(session, engineio::detail::metrics_of(session), packet, volatile_, compress);
}

bool send_encoded(const engineio::session& session, metrics_detail::registry* metrics,
                  const protocol::encoded_packet& packet, bool volatile_, bool compress) {
    const bool sent = send_encoded_packet(session, packet, volatile_, compress);
    if (sent) // metrics hook
        metrics_detail::count_packet_sent(metrics);
    return sent;
}

// --- socket_impl ------------------------------------------------------------------------------------

namespace {

sio::handshake make_handshake(const request_info& req, std::chrono::system_clock::time_point now,
                              boost::json::object auth) {
    sio::handshake hs;
    hs.headers = req.headers;
    hs.issued = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::strftime(buf, sizeof buf, "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
    hs.time = buf;
    hs.address = req.remote_address;
    hs.xdomain = req.headers.get("origin").has_value();
    hs.secure = req.secure;
    hs.url = req.target;
    if (auto url = boost::urls::parse_origin_form(req.target))
        for (auto param : url->params())
            hs.query.emplace_back(std::string(param.key), std::string(param.value));
    hs.auth = std::move(auth);
    return hs;
}

} // namespace

boost::intrusive_ptr<socket_impl::event_handler>
socket_impl::event_handler::make(std::string_view name, std::function<void(socket, event&)> fn) {
    if (name.size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("sio: event name too long");
    void* block = ::operator new(sizeof(event_handler) + name.size());
    auto* h = new (block) event_handler(std::move(fn), static_cast<std::uint32_t>(name.size()));
    if (!name.empty())
        std::memcpy(static_cast<void*>(h + 1), name.data(), name.size());
    return boost::intrusive_ptr<event_handler>(h);
}

void socket_impl::event_handler::destroy(event_handler* h) noexcept {
    h->~event_handler();
    ::operator delete(h);
}

socket_impl::socket_impl(std::shared_ptr<namespace_impl> nsp, std::shared_ptr<client> owner, std::string id,
                         boost::json::object auth)
    : abandonable(owner->server_->executor_), id_(std::move(id)), nsp_(std::move(nsp)), client_(owner),
      session_(owner->session_), issued_(std::chrono::system_clock::now()), auth_(std::move(auth)) {}

const sio::handshake& socket_impl::handshake() const {
    std::call_once(handshake_once_, [this] {
        handshake_ = std::make_unique<const sio::handshake>(
            make_handshake(session_.request(), issued_, std::move(auth_)));
    });
    return *handshake_;
}

void socket_impl::abandon() noexcept {
    auto handlers = std::move(handlers_);
    auto listeners = std::move(listeners_);
    auto acks = std::move(acks_);
    if (inbox_)
        inbox_->events.clear(); // their acks hold the socket weakly; the waiters' timers stay
    handlers_.clear();
}

bool socket_impl::send(protocol::packet& p, bool volatile_, bool compress) {
    if (!connected_.load())
        return false;
    if (deferred_packets_.load(std::memory_order_acquire) != 0 && !in_fanout_slice()) { // behind them
        defer_send(std::const_pointer_cast<socket_impl>(shared_from_this()), nsp_->codec_->encode(p),
                   volatile_, compress);
        return true;
    }
    return detail::send_encoded(session_, nsp_->metrics_.get(), nsp_->codec_->encode(p), volatile_, compress);
}

socket socket_impl::handle() const {
    return socket(std::const_pointer_cast<socket_impl>(shared_from_this()));
}

const protocol::packet_codec& socket_impl::codec() const noexcept {
    return *nsp_->codec_;
}

bool socket_impl::send_encoded(const protocol::encoded_packet& packet, bool volatile_, bool compress) {
    // A slice delivers what was sent while the socket was connected (a broadcast, then the DISCONNECT of
    // leave_namespace): the session decides whether it still goes out.
    if (in_fanout_slice())
        return detail::send_encoded(session_, nsp_->metrics_.get(), packet, volatile_, compress);
    if (!connected_.load())
        return false;
    if (deferred_packets_.load(std::memory_order_acquire) != 0) { // behind them
        defer_send(std::const_pointer_cast<socket_impl>(shared_from_this()), packet, volatile_, compress);
        return true;
    }
    return detail::send_encoded(session_, nsp_->metrics_.get(), packet, volatile_, compress);
}

// The listeners belong to the strand, and emits come from any thread: off the strand, the listeners run
// there, on a copy of the event (made only when there are listeners).
void socket_impl::notify_outgoing(std::string_view event, const arguments& args) {
    if (!has_outgoing_listeners_.load())
        return;
    if (engineio::detail::running_in(strand()))
        run_outgoing(event, args);
    else
        notify_outgoing(std::make_shared<const outgoing_event>(outgoing_event{std::string(event), args}));
}

void socket_impl::notify_outgoing(std::shared_ptr<const outgoing_event> ev) {
    if (!has_outgoing_listeners_.load())
        return;
    net::dispatch(strand(), [self = shared_from_this(), ev = std::move(ev)] {
        self->run_outgoing(ev->name, ev->args);
    });
}

void socket_impl::run_outgoing(std::string_view event, const arguments& args) {
    if (!listeners_ || listeners_->any_outgoing.empty())
        return;
    const auto listeners = listeners_->any_outgoing; // a listener may add or remove listeners
    const socket self(shared_from_this());
    for (const auto& h : listeners) {
        try {
            h(self, event, args);
        } catch (...) {
        }
    }
}

void socket_impl::send_ack(std::uint64_t id, arguments args) {
    SIO_LOG(socket, debug, "socket ", id_, " sends ack ", id);
    protocol::packet p;
    p.type = protocol::packet_type::ack;
    p.nsp = nsp_->name_;
    p.id = id;
    p.data = std::move(args.values);
    p.attachments = std::move(args.attachments);
    send(p, false, true);
}

void socket_impl::start_ack(protocol::packet p, std::optional<std::chrono::milliseconds> timeout,
                            bool compress, std::function<void(ack_result)> done) {
    net::dispatch(strand(), [self = shared_from_this(), p = std::move(p), timeout, compress,
                             done = std::move(done)]() mutable {
        if (!self->connected_.load()) {
            done(ack_result{error::not_connected, {}});
            return;
        }
        const auto id = self->next_ack_id_++;
        SIO_LOG(socket, debug, "socket ", self->id_, " emits with ack ", id);
        p.id = id;
        pending_ack pending{std::move(done), nullptr};
        if (timeout) {
            pending.timer = std::make_shared<net::steady_timer>(self->strand());
            wait_after(engineio::detail::manual_clock_of(self->session_), *pending.timer, *timeout,
                       [weak = std::weak_ptr<socket_impl>(self), id](boost::system::error_code ec) {
                           if (auto s = weak.lock(); s && !ec)
                               s->complete_ack(id, ack_result{error::ack_timeout, {}});
                       });
        }
        if (!self->acks_)
            self->acks_ = std::make_unique<std::unordered_map<std::uint64_t, pending_ack>>();
        self->acks_->emplace(id, std::move(pending));
        metrics_detail::count(self->nsp_->metrics_.get(), metrics_detail::cell::acks_pending); // metrics hook
        if (self->has_inbox())
            self->update_read_hold(); // the ack must be read: a held read resumes
        if (!self->send(p, false, compress))
            self->complete_ack(id, ack_result{error::not_connected, {}});
    });
}

void socket_impl::complete_ack(std::uint64_t id, ack_result r) {
    if (!acks_)
        return;
    auto it = acks_->find(id);
    if (it == acks_->end())
        return;
    SIO_LOG(socket, debug, "socket ", id_, " ack ", id, r.error ? " failed: " : " received",
            r.error ? r.error.message() : std::string());
    auto pending = std::move(it->second);
    acks_->erase(it);
    if (auto* m = nsp_->metrics_.get()) { // metrics hook
        m->add(metrics_detail::cell::acks_pending, -1);
        if (r.error == error::ack_timeout)
            m->add(metrics_detail::cell::ack_timeouts);
    }
    if (acks_->empty() && has_inbox())
        update_read_hold();
    if (pending.timer)
        cancel_wait(engineio::detail::manual_clock_of(session_), *pending.timer);
    pending.done(std::move(r));
}

void socket_impl::on_packet(protocol::packet&& p, std::size_t text_bytes) {
    using protocol::packet_type;
    switch (p.type) {
    case packet_type::event:
    case packet_type::binary_event:
        on_event(std::move(p), text_bytes);
        return;
    case packet_type::ack:
    case packet_type::binary_ack:
        if (p.id) {
            arguments args{std::move(p.data.as_array()), std::move(p.attachments)};
            complete_ack(*p.id, ack_result{{}, std::move(args)});
        }
        return;
    case packet_type::disconnect:
        close(disconnect_reason::client_namespace_disconnect);
        return;
    case packet_type::connect:
    case packet_type::connect_error:
        return; // filtered by the client
    }
}

void socket_impl::on_event(protocol::packet&& p, std::size_t text_bytes) {
    metrics_detail::count(nsp_->metrics_.get(), metrics_detail::cell::events_received); // metrics hook
    std::size_t bytes = text_bytes; // its size on the wire, for the bound of receive()'s events
    if (keeps_received())
        for (const auto& a : p.attachments)
            bytes += a.size();
    auto& values = p.data.as_array();
    event ev;
    const auto& name = values.front();
    if (name.is_string())
        ev.name = std::string(name.as_string());
    else
        ev.name = boost::json::serialize(name); // a number, as the reference's EventEmitter keys it
    values.erase(values.begin());
    ev.args.values = std::move(values);
    ev.args.attachments = std::move(p.attachments);
    if (p.id) {
        auto state = std::make_shared<ack_state>();
        state->socket = weak_from_this();
        state->id = *p.id;
        ev.ack = sio::ack(std::move(state));
    }
    SIO_LOG(socket, debug, "socket ", id_, " got event ", ev.name);
    socket self(shared_from_this());
    // Like the reference: the `on_any` listeners first, then the middlewares, then the handler. Each runs
    // from a copy, as any of them may change the tables (or disconnect the socket, which clears them).
    try {
        if (listeners_ && !listeners_->any.empty()) {
            const auto listeners = listeners_->any;
            for (const auto& h : listeners)
                h(self, ev);
        }
        if (listeners_ && !listeners_->middlewares.empty()) {
            const auto middlewares = listeners_->middlewares;
            for (const auto& mw : middlewares) {
                if (auto err = mw(self, ev)) {
                    if (listeners_ && listeners_->on_error) {
                        const auto on_error = listeners_->on_error;
                        on_error(self, *err);
                    }
                    return;
                }
            }
        }
        if (const auto* slot = find_handler(ev.name)) {
            const auto handler = *slot;
            handler->fn(self, ev);
        } else if (keeps_received() && connected_.load()) {
            keep_received(std::move(ev), bytes); // for socket.receive() (session_coroutine.cpp)
        }
    } catch (const std::exception& e) {
        SIO_LOG(socket, error, "a handler of event ", ev.name, " threw: ", e.what());
        // A throwing handler must not take the connection (or the process) down.
    }
}

void socket_impl::close(disconnect_reason reason) {
    if (closing_ || !connected_.load())
        return;
    closing_ = true;
    SIO_LOG(socket, debug, "socket ", id_, " disconnects: ", to_string(reason));
    socket self(shared_from_this());
    auto run = [&](auto& handlers) {
        for (auto& h : handlers) {
            try {
                h(self, reason);
            } catch (...) {
                SIO_LOG(socket, warning, "a disconnect handler threw");
            }
        }
    };
    // Each list is moved out before it runs: a handler may register more (dropped, as the socket is done).
    if (listeners_) {
        auto on_disconnecting = std::move(listeners_->on_disconnecting);
        run(on_disconnecting); // still connected: rooms readable, emits possible
    }
    if (recovery_)
        nsp_->remove_live_pid(recovery_->pid, this);
    if (recovery_ && recoverable(reason)) // before it leaves its rooms, like the reference
        nsp_->adapter().persist_session(recovery_session{
            id_, recovery_->pid, nsp_->adapter().socket_rooms(socket(shared_from_this())), data_});
    reason_.store(static_cast<std::uint8_t>(static_cast<std::uint8_t>(reason) + 1));
    metrics_detail::count(nsp_->metrics_.get(), // metrics hook
                          metrics_detail::cell::socket_disconnects + static_cast<std::size_t>(reason));
    connected_.store(false);
    if (auto acks = std::move(acks_)) {
        metrics_detail::count(nsp_->metrics_.get(), metrics_detail::cell::acks_pending, // metrics hook
                              -static_cast<std::int64_t>(acks->size()));
        for (auto& [id, pending] : *acks) {
            if (pending.timer)
                pending.timer->cancel();
            pending.done(ack_result{error::not_connected, {}});
        }
    }
    nsp_->adapter().remove_socket(socket(shared_from_this()));
    nsp_->socket_count_.fetch_sub(1, std::memory_order_relaxed);
    SIO_LOG(namespace_, debug, "socket ", id_, " removed from ", nsp_->name_);
    if (auto c = client_.lock())
        c->remove(nsp_->name_);
    if (listeners_) {
        auto on_disconnect = std::move(listeners_->on_disconnect);
        run(on_disconnect);
    }
    handlers_.clear();
    has_outgoing_listeners_.store(false);
    listeners_.reset();
    wake_receivers(); // a waiting receive() or disconnected() resumes
    if (auto server = nsp_->server_.lock())
        server->remove_child_if_empty(nsp_);
}

void socket_impl::disconnect(bool close_connection) {
    net::dispatch(strand(), [self = shared_from_this(), close_connection] {
        if (!self->connected_.load())
            return;
        if (close_connection) {
            if (auto c = self->client_.lock()) {
                c->disconnect_all(); // every socket of the connection, then the connection
                return;
            }
        }
        self->leave_namespace();
    });
}

void socket_impl::leave_namespace() {
    if (!connected_.load())
        return;
    protocol::packet p;
    p.type = protocol::packet_type::disconnect;
    p.nsp = nsp_->name_;
    send(p, false, true);
    close(disconnect_reason::server_namespace_disconnect);
}

} // namespace detail
} // namespace sio
