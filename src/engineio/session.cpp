#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/error.hpp>

#include <array>
#include <cerrno>

#include "../log.hpp"
#include "access.hpp"
#include "impl.hpp"
#include <sys/socket.h>

namespace sio::engineio {

// --- the public handle -------------------------------------------------------------------------------

const std::string& session::id() const noexcept {
    return impl_->id();
}
transport_kind session::transport() const noexcept {
    return impl_->transport();
}
const request_info& session::request() const noexcept {
    return impl_->request();
}
bool session::is_open() const noexcept {
    return impl_ && impl_->is_open();
}
boost::asio::any_io_executor session::executor() const noexcept {
    return impl_->strand();
}

std::error_code session::send(std::string data, send_options opts) const {
    return send(std::make_shared<const std::string>(std::move(data)), opts);
}

std::error_code session::send(shared_payload data, send_options opts) const {
    if (!impl_)
        return error::session_closed;
    detail::out_packet p{packet_type::message, opts.binary, opts.compress, std::move(data)};
    return impl_->send(std::move(p), opts.volatile_);
}

std::error_code session::send_batch(std::vector<outgoing> messages, send_options opts) const {
    if (!impl_)
        return error::session_closed;
    std::vector<detail::out_packet> batch;
    batch.reserve(messages.size());
    for (auto& m : messages)
        batch.push_back({packet_type::message, m.binary, opts.compress, std::move(m.data)});
    return impl_->send_batch(std::move(batch), opts.volatile_);
}

void session::close() const {
    if (impl_)
        impl_->close_gracefully();
}

void session::on_message(std::function<void(message&&)> handler) const {
    impl_->set_message_handler(std::move(handler));
}

void session::on_close(std::function<void(close_reason, std::string_view)> handler) const {
    impl_->set_close_handler(std::move(handler));
}

} // namespace sio::engineio

void sio::engineio::detail::set_listener(const session& s, std::shared_ptr<session_listener> listener) {
    if (s)
        access::impl(s)->set_listener(std::move(listener));
}

namespace sio::engineio::detail {

namespace websocket = beast::websocket;
using net::use_awaitable;
constexpr auto as_tuple_awaitable = net::as_tuple(use_awaitable);

namespace {

out_packet control(packet_type type, std::string_view data = {}) {
    out_packet p{type, false, true, nullptr};
    if (!data.empty())
        p.data = std::make_shared<const std::string>(data);
    return p;
}

/// Plain operator new/delete. Asio recycles operation memory per thread and hands out any cached block
/// that is large enough, so the wait every idle connection keeps pending on its socket would pin a block
/// left by a bigger operation (an accept, a write); with this allocator it holds a block of its own size.
template <class T>
struct exact_allocator {
    using value_type = T;
    exact_allocator() noexcept = default;
    template <class U>
    exact_allocator(const exact_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }
    friend bool operator==(const exact_allocator&, const exact_allocator&) noexcept { return true; }
};

/// The public hooks of `session::on_message` / `session::on_close`, as a listener.
struct hook_listener final : session_listener {
    std::function<void(message&&)> message_hook;
    std::function<void(close_reason, std::string_view)> close_hook;
    void on_message(message&& m) override {
        if (message_hook)
            message_hook(std::move(m));
    }
    void on_close(close_reason reason, std::string_view description) override {
        if (close_hook)
            close_hook(reason, description);
    }
};

/// A new hook listener for `listener`, with the hooks it has (if it is one), installed in its place. Copied,
/// not changed in place: a hook that replaces itself keeps running on the old listener, which the session
/// holds until the hook returns.
hook_listener& replace_hooks(std::shared_ptr<session_listener>& listener) {
    auto hooks = std::make_shared<hook_listener>();
    if (const auto* old = dynamic_cast<const hook_listener*>(listener.get()))
        *hooks = *old;
    auto& result = *hooks;
    listener = std::move(hooks);
    return result;
}

// The single-character text form of each packet type, for gathered WebSocket writes.
constexpr std::array<char, 7> type_chars{'0', '1', '2', '3', '4', '5', '6'};

} // namespace

session_impl::session_impl(std::shared_ptr<server_impl> server, std::string id, request_info request,
                           transport_kind t, net::any_io_executor strand)
    : abandonable(server->executor_), server_(std::move(server)), id_(std::move(id)),
      request_(std::move(request)), strand_(std::move(strand)), transport_(t),
      parser_(server_->options_.max_http_buffer_size, server_->options_.max_ws_fragments) {}

session_impl::~session_impl() {
    server_->heartbeats_->cancel(*this); // the wheel knows this session by address
}

void session_impl::abandon() noexcept {
    // Destroyed after the members are reset: a hook's destructor may release other objects.
    auto listener = std::move(listener_);
    auto queue = std::move(queue_);
    auto rare = std::move(rare_);
    auto raw = std::move(raw_);
    std::vector<inbound> inbox;
    {
        const std::lock_guard lock(inbox_mutex_);
        inbox.swap(inbox_);
    }
    listener_ = nullptr;
    queue_.clear();
}

session_impl::rare_transports& session_impl::rare() {
    if (!rare_)
        rare_ = std::make_unique<rare_transports>();
    return *rare_;
}

const session_impl::raw_socket& session_impl::upgrade_raw() const noexcept {
    static const raw_socket none;
    return rare_ ? rare_->upgrade_raw : none;
}

void session_impl::end_probe() noexcept {
    if (!rare_)
        return;
    rare_->upgrade_ws.reset();
    rare_->upgrade_raw.reset();
    if (!rare_->ws)
        rare_.reset();
}

bool session_impl::reserve(std::size_t bytes, std::size_t packets, std::error_code& result) {
    result = {};
    if (closing_.load(std::memory_order_acquire)) {
        result = error::session_closed;
        return false;
    }
    const auto& o = server_->options_;
    const std::size_t total_bytes = queued_bytes_.fetch_add(bytes) + bytes;
    const std::size_t total_packets = queued_packets_.fetch_add(packets) + packets;
    if (total_bytes <= o.max_queued_bytes && total_packets <= o.max_queued_packets)
        return true;
    queued_bytes_.fetch_sub(bytes);
    queued_packets_.fetch_sub(packets);
    if (o.on_overflow != overflow_policy::drop) // dropping silently is the `drop` policy
        result = error::queue_full;
    if (o.on_overflow == overflow_policy::disconnect)
        close(close_reason::queue_overflow, "outgoing queue full");
    return false;
}

bool session_impl::writable() const noexcept {
    // Volatile packets need a transport that can write right now: an idle WebSocket writer or a parked GET.
    if (!queue_.empty())
        return false;
    if (transport() != transport_kind::websocket)
        return get_active_;
    return has_ws() || (raw_ != nullptr && !raw_writing_);
}

std::error_code session_impl::send(out_packet p, bool volatile_) {
    std::error_code result;
    if (!reserve(p.size(), 1, result))
        return result;
    bool post = false;
    {
        const std::lock_guard lock(inbox_mutex_);
        inbox_.push_back(inbound{std::move(p), volatile_, false});
        post = !std::exchange(service_posted_, true);
    }
    // One strand hop per burst, not per packet: packets sent meanwhile join the inbox.
    if (post)
        schedule_drain();
    return {};
}

void session_impl::schedule_drain() {
    // Sent by a handler the reader is running (an ack, say): the reader drains after its read, no hop.
    // The flag belongs to the strand: read it only when running there.
    if (running_in(strand_) && in_read_batch_)
        return;
    net::post(strand_, [self = shared_from_this()] {
        self->drain_inbox();
        self->notify();
    });
}

std::error_code session_impl::send_batch(std::vector<out_packet> batch, bool volatile_) {
    if (batch.empty())
        return {};
    std::size_t bytes = 0;
    for (const auto& p : batch)
        bytes += p.size();
    std::error_code result;
    if (!reserve(bytes, batch.size(), result))
        return result;
    bool post = false;
    {
        const std::lock_guard lock(inbox_mutex_);
        bool first = true;
        for (auto& p : batch) {
            inbox_.push_back(inbound{std::move(p), volatile_, !first});
            first = false;
        }
        post = !std::exchange(service_posted_, true);
    }
    if (post)
        schedule_drain();
    return {};
}

void session_impl::drain_inbox() {
    {
        const std::lock_guard lock(inbox_mutex_);
        service_posted_ = false;
        if (inbox_.empty())
            return;
        inbox_.swap(inbox_spare_); // both keep their capacity: no allocation per burst
    }
    bool drop = false;
    for (auto& in : inbox_spare_) {
        if (!in.follows)
            drop = state_ != state::open || (in.volatile_ && !writable());
        if (drop)
            release(in.packet);
        else
            queue_.push_back(std::move(in.packet));
    }
    inbox_spare_.clear();
    if (inbox_spare_.capacity() > 256)
        std::vector<inbound>().swap(inbox_spare_); // a burst does not pin its buffer
}

void session_impl::notify() {
    if (raw_ && transport() == transport_kind::websocket)
        flush();
    else
        wake();
}

void session_impl::wake() {
    if (wake_)
        wake_->cancel();
}

net::steady_timer& session_impl::wake_timer() {
    if (!wake_)
        wake_ = std::make_unique<net::steady_timer>(strand_);
    return *wake_;
}

net::awaitable<void> session_impl::wait_for_wake() {
    auto& timer = wake_timer();
    timer.expires_at(net::steady_timer::time_point::max());
    co_await timer.async_wait(as_tuple_awaitable);
}

void session_impl::push(out_packet p) {
    queue_.push_back(std::move(p));
    notify();
}

void session_impl::push_control(packet_type type, std::string_view data) {
    drain_inbox(); // what was sent before goes first
    out_packet p = control(type, data);
    queued_bytes_.fetch_add(p.size());
    queued_packets_.fetch_add(1);
    push(std::move(p));
}

void session_impl::release(const out_packet& p) noexcept {
    queued_bytes_.fetch_sub(p.size());
    queued_packets_.fetch_sub(1);
}

void session_impl::close(close_reason reason, std::string description) {
    closing_.store(true, std::memory_order_release);
    net::dispatch(strand_, [self = shared_from_this(), reason, d = std::move(description)]() mutable {
        self->do_close(reason, std::move(d));
    });
}

void session_impl::close_gracefully() {
    closing_.store(true, std::memory_order_release);
    net::dispatch(strand_, [self = shared_from_this()] {
        if (self->state_ != state::open)
            return;
        self->drain_inbox(); // what was sent before the close is flushed
        self->state_ = state::closing;
        if (self->transport() == transport_kind::polling) {
            // The close packet goes after everything queued, in the next GET.
            self->push_control(packet_type::close);
        }
        self->heartbeat_arm(); // the heartbeat now bounds the wait for the flush
        self->notify();
    });
}

void session_impl::set_message_handler(std::function<void(message&&)> h) {
    net::dispatch(strand_, [self = shared_from_this(), h = std::move(h)]() mutable {
        if (self->state_ != state::closed)
            replace_hooks(self->listener_).message_hook = std::move(h);
    });
}

void session_impl::set_close_handler(std::function<void(close_reason, std::string_view)> h) {
    net::dispatch(strand_, [self = shared_from_this(), h = std::move(h)]() mutable {
        if (self->state_ != state::closed)
            replace_hooks(self->listener_).close_hook = std::move(h);
    });
}

void session_impl::set_listener(std::shared_ptr<session_listener> l) {
    net::dispatch(strand_, [self = shared_from_this(), l = std::move(l)]() mutable {
        if (self->state_ != state::closed)
            self->listener_ = std::move(l);
    });
}

void session_impl::start() {
    const auto& o = server_->options_;
    open_data open;
    open.sid = id_;
    if (transport() == transport_kind::polling && o.websocket && o.allow_upgrades)
        open.upgrades.push_back("websocket");
    open.ping_interval_ms = o.ping_interval.count();
    open.ping_timeout_ms = o.ping_timeout.count();
    open.max_payload = static_cast<std::int64_t>(o.max_http_buffer_size);
    std::string text = encode_open(open);
    push_control(packet_type::open, std::string_view(text).substr(1));
    heartbeat_arm();
    SIO_LOG(engine_socket, debug, "session ", id_, " open (",
            transport() == transport_kind::polling ? "polling" : "websocket", ")");
    if (server_->on_connection_) {
        try {
            server_->on_connection_(session(shared_from_this()));
        } catch (...) {
            SIO_LOG(engine, warning, "session ", id_, ": the connection handler threw");
            do_close(close_reason::transport_error, "connection handler threw");
        }
    }
}

void session_impl::on_packet(packet&& p) {
    switch (p.type) {
    case packet_type::ping:
        do_close(close_reason::transport_error, "invalid heartbeat direction");
        return;
    case packet_type::pong:
        pong_pending_ = true;
        if (state_ == state::open)
            heartbeat_arm(); // a new cycle
        return;
    case packet_type::close:
        do_close(close_reason::transport_close, "client close");
        return;
    case packet_type::message:
        if (listener_) {
            const auto listener = listener_; // alive until it returns, even if it closes the session
            try {
                listener->on_message(message{p.binary, std::move(p.data)});
            } catch (...) {
                SIO_LOG(engine_socket, warning, "session ", id_, ": the message handler threw");
                do_close(close_reason::transport_error, "message handler threw");
            }
        }
        return;
    case packet_type::open:
    case packet_type::upgrade:
    case packet_type::noop:
        return; // ignored on an established transport, like the reference
    }
}

void session_impl::do_close(close_reason reason, std::string description) {
    if (state_ == state::closed)
        return;
    const auto keep_alive = shared_from_this(); // the handlers below may hold the last references
    SIO_LOG(engine_socket, debug, "session ", id_, " closed: ", description, " (", to_string(reason), ")");
    state_ = state::closed;
    closing_.store(true, std::memory_order_release);
    // A parked GET answers a noop when the client itself closed, a close packet otherwise (reference).
    poll_close_body_ = reason == close_reason::transport_close ? '6' : '1';
    server_->erase(id_);
    heartbeat_cancel();
    wake();
    drain_inbox(); // released below with the queue
    for (const auto& p : queue_)
        release(p);
    queue_.clear();
    const bool graceful = reason == close_reason::transport_close || reason == close_reason::forced_close;
    if (raw_) {
        if (!graceful) {
            beast::error_code ignored;
            raw_->close(ignored);
        } else {
            raw_closing_ = true;
            if (!raw_writing_)
                raw_send_close();
            // A peer that neither reads what is still being written nor ends the connection is cut after
            // ping_timeout (the reader closes the socket, and cancels this, when the peer ends first).
            // (Not on the heartbeat wheel: a closed server stops it, and this must still run.)
            auto& linger = wake_timer();
            linger.expires_after(server_->options_.ping_timeout);
            linger.async_wait([sock = raw_](const boost::system::error_code& wait_ec) {
                if (!wait_ec) {
                    beast::error_code ignored;
                    sock->close(ignored);
                }
            });
        }
    }
    if (rare_) {
        beast::error_code ignored;
        if (rare_->upgrade_raw)
            rare_->upgrade_raw->close(ignored);
        if (rare_->ws && !graceful)
            beast::get_lowest_layer(*rare_->ws).socket().close(ignored);
        if (rare_->upgrade_ws)
            beast::get_lowest_layer(*rare_->upgrade_ws).socket().close(ignored);
    }
    if (const auto listener = std::move(listener_)) {
        listener_ = nullptr;
        try {
            listener->on_close(reason, description);
        } catch (...) {
            SIO_LOG(engine_socket, warning, "session ", id_, ": the close handler threw");
        }
    }
}

// --- polling -----------------------------------------------------------------------------------------

net::awaitable<poll_result> session_impl::handle_get() {
    if (state_ == state::closed)
        co_return poll_result{400, ""};
    if (get_active_) {
        // A second concurrent GET: protocol error. The parked GET answers a close packet.
        do_close(close_reason::transport_error, "overlap from client");
        co_return poll_result{400, ""};
    }
    get_active_ = true;
    drain_inbox();
    auto cs = co_await net::this_coro::cancellation_state;
    while (state_ != state::closed && queue_.empty() && transport() == transport_kind::polling) {
        co_await wait_for_wake();
        if (cs.cancelled() != net::cancellation_type::none) {
            get_active_ = false;
            co_return poll_result{0, ""};
        }
    }
    get_active_ = false;
    if (state_ == state::closed) {
        poll_result closed;
        closed.body.assign(1, poll_close_body_);
        co_return closed;
    }
    if (transport() != transport_kind::polling)
        co_return poll_result{200, "6"}; // upgraded while parked
    // The close packet of a graceful close travels alone, in the response after the last packets (like the
    // reference): a client hands decoded packets over asynchronously and would see the close first.
    poll_result r;
    r.compress = false;
    bool has_close = false;
    std::size_t taken = 0;
    for (const auto& p : queue_) {
        r.compress = r.compress || p.compress;
        if (p.type == packet_type::close && taken > 0)
            break;
        if (!r.body.empty())
            r.body.push_back(record_separator);
        append_text(r.body, p.type, p.binary, p.data ? std::string_view(*p.data) : std::string_view{});
        has_close = p.type == packet_type::close;
        release(p);
        ++taken;
        if (has_close)
            break;
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
    if (has_close)
        do_close(close_reason::forced_close, "server close");
    co_return r;
}

net::awaitable<std::error_code> session_impl::handle_post(std::vector<packet> packets,
                                                          std::error_code decode_error) {
    for (auto& p : packets) {
        if (state_ == state::closed)
            co_return error::session_closed;
        if (p.type == packet_type::close && get_active_) {
            // The client closes: the parked GET answers a noop (reference), then the session ends.
            do_close(close_reason::transport_close, "client close");
            co_return std::error_code{};
        }
        on_packet(std::move(p));
    }
    if (decode_error) {
        do_close(close_reason::parse_error, decode_error.message());
        co_return decode_error;
    }
    co_return std::error_code{};
}

net::awaitable<void> session_impl::handle_poll_aborted() {
    do_close(close_reason::transport_error, "poll connection closed prematurely");
    co_return;
}

// --- heartbeat ---------------------------------------------------------------------------------------

void session_impl::heartbeat_arm() {
    // One deadline at a time: a new one replaces the last (its entry on the wheel goes stale), and each
    // deadline that passes decides the next (heartbeat_fired).
    const auto& o = server_->options_;
    if (state_ == state::closed)
        return;
    if (state_ == state::closing) {
        // A graceful close waits for its flush at most this long, then ends the session anyway.
        heartbeat_wait(o.polling_close_timeout, beat::closing);
        return;
    }
    pong_pending_ = false;
    heartbeat_wait(o.ping_interval, beat::interval);
}

void session_impl::heartbeat_cancel() noexcept {
    ++beat_generation_;
    server_->heartbeats_->cancel(*this); // a closed session leaves nothing on the wheel
}

void session_impl::heartbeat_wait(std::chrono::milliseconds after, beat phase) {
    if (server_->closed())
        return; // the server closes every session now, and has stopped the wheel
    beat_phase_ = phase;
    server_->heartbeats_->schedule(shared_from_this(), ++beat_generation_, after);
}

void session_impl::due(std::uint32_t generation) {
    if (generation != beat_generation_)
        return; // re-armed or cancelled since
    heartbeat_fired(beat_phase_);
}

void session_impl::heartbeat_fired(beat phase) {
    switch (phase) {
    case beat::closing:
        if (state_ == state::closing)
            do_close(close_reason::transport_error, "close timeout");
        break;
    case beat::interval:
        if (state_ == state::open && !pong_pending_) {
            push_control(packet_type::ping);
            heartbeat_wait(server_->options_.ping_timeout, beat::timeout);
            return;
        }
        break;
    case beat::timeout:
        if (state_ == state::open && !pong_pending_) {
            do_close(close_reason::ping_timeout, "ping timeout");
            return;
        }
        break;
    }
    heartbeat_arm();
}

// --- websocket ---------------------------------------------------------------------------------------

net::awaitable<void> session_impl::run_websocket([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                 std::shared_ptr<ws_stream> ws) {
    rare().ws = ws;
    SIO_LOG(engine_ws, debug, "session ", id_, ": websocket transport running");
    net::co_spawn(strand_, ws_writer(self, ws), net::detached);
    co_await ws_reader(std::move(self), std::move(ws));
}

net::awaitable<void> session_impl::ws_writer([[maybe_unused]] std::shared_ptr<session_impl> self,
                                             std::shared_ptr<ws_stream> ws) {
    std::vector<out_packet> batch;
    for (;;) {
        drain_inbox();
        while (queue_.empty() && state_ == state::open) {
            co_await wait_for_wake();
        }
        if (state_ == state::closed)
            break;
        if (queue_.empty()) { // closing and flushed
            do_close(close_reason::forced_close, "server close");
            break;
        }
        batch.swap(queue_);
        for (auto& p : batch) {
            const std::string_view data = p.data ? std::string_view(*p.data) : std::string_view{};
            beast::error_code ec;
            if (p.binary) {
                ws->binary(true);
                std::tie(ec, std::ignore) = co_await ws->async_write(net::buffer(data), as_tuple_awaitable);
            } else {
                ws->text(true);
                const std::array<net::const_buffer, 2> buffers{
                    net::buffer(&type_chars[static_cast<std::size_t>(p.type)], 1), net::buffer(data)};
                std::tie(ec, std::ignore) = co_await ws->async_write(buffers, as_tuple_awaitable);
            }
            release(p);
            if (ec) {
                for (auto& rest : batch)
                    if (&rest > &p)
                        release(rest);
                batch.clear();
                SIO_LOG(engine_ws, debug, "session ", id_, ": write error: ", ec);
                do_close(close_reason::transport_error, ec.message());
                break;
            }
            if (state_ == state::closed) {
                for (auto& rest : batch)
                    if (&rest > &p)
                        release(rest);
                break;
            }
        }
        batch.clear();
    }
    // Closed: a close frame when the connection is still usable, then the socket goes.
    if (beast::get_lowest_layer(*ws).socket().is_open()) {
        co_await ws->async_close(websocket::close_code::normal, as_tuple_awaitable);
        beast::error_code ignored;
        beast::get_lowest_layer(*ws).socket().close(ignored);
    }
}

net::awaitable<void> session_impl::ws_reader([[maybe_unused]] std::shared_ptr<session_impl> self,
                                             std::shared_ptr<ws_stream> ws) {
    beast::flat_buffer buffer;
    for (;;) {
        auto [ec, n] = co_await ws->async_read(buffer, as_tuple_awaitable);
        if (state_ == state::closed)
            co_return;
        if (ec) {
            const bool clean = (ec == websocket::error::closed && !ws->next_layer().saw_invalid_close()) ||
                               ec == net::error::eof || ec == net::error::connection_reset;
            SIO_LOG(engine_ws, debug, "session ", id_, ": websocket ended: ", ec);
            do_close(clean ? close_reason::transport_close : close_reason::transport_error, ec.message());
            co_return;
        }
        const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
        if (ws->got_text()) {
            packet p;
            if (decode_packet(data, p)) {
                SIO_LOG(engine_ws, debug, "session ", id_, ": invalid packet");
                do_close(close_reason::parse_error, "invalid packet");
                co_return;
            }
            on_packet(std::move(p));
        } else {
            on_packet(packet{packet_type::message, true, std::string(data)});
        }
        buffer.consume(buffer.size());
        if (buffer.capacity() > 64 * 1024)
            buffer.shrink_to_fit(); // a large message must not pin its buffer for the session's lifetime
    }
}

net::awaitable<void> session_impl::run_upgrade([[maybe_unused]] std::shared_ptr<session_impl> self,
                                               std::shared_ptr<ws_stream> ws) {
    const auto& o = server_->options_;
    if (!may_start_upgrade()) {
        // Already upgrading or upgraded: the newcomer is closed, the session is not touched.
        co_await ws->async_close(websocket::close_code::normal, as_tuple_awaitable);
        co_return;
    }
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgrade to websocket started");
    upgrading_ = true;
    rare().upgrade_ws = ws;
    net::steady_timer deadline(strand_);
    deadline.expires_after(o.upgrade_timeout);
    deadline.async_wait([ws](beast::error_code ec) {
        if (!ec) {
            beast::error_code ignored;
            beast::get_lowest_layer(*ws).socket().close(ignored);
        }
    });
    auto fail = [&]() -> net::awaitable<void> {
        SIO_LOG(engine_socket, debug, "session ", id_, ": upgrade failed");
        upgrading_ = false;
        end_probe();
        deadline.cancel();
        if (beast::get_lowest_layer(*ws).socket().is_open())
            co_await ws->async_close(websocket::close_code::normal, as_tuple_awaitable);
    };
    beast::flat_buffer buffer;
    for (;;) {
        auto [ec, n] = co_await ws->async_read(buffer, as_tuple_awaitable);
        if (ec || state_ != state::open || !ws->got_text()) {
            co_await fail();
            co_return;
        }
        const std::string_view text(static_cast<const char*>(buffer.data().data()), buffer.size());
        if (text == "2probe") {
            buffer.consume(buffer.size());
            ws->text(true);
            auto [wec, wn] =
                co_await ws->async_write(net::buffer(std::string_view("3probe")), as_tuple_awaitable);
            if (wec || state_ != state::open) {
                co_await fail();
                co_return;
            }
            // Release a parked GET (or answer the next one) so the client can finish the upgrade.
            push_control(packet_type::noop);
            continue;
        }
        if (text != "5") {
            co_await fail();
            co_return;
        }
        break;
    }
    // Upgrade complete: the WebSocket becomes the transport; what polling did not send goes over it.
    upgrading_ = false;
    end_probe();
    deadline.cancel();
    std::erase_if(queue_, [this](const out_packet& p) {
        if (p.type != packet_type::noop)
            return false;
        release(p);
        return true;
    });
    transport_.store(transport_kind::websocket, std::memory_order_release);
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgraded to websocket");
    wake();
    co_await run_websocket(std::move(self), std::move(ws));
}

// --- raw websocket -----------------------------------------------------------------------------------

namespace {

using tcp = net::ip::tcp;

/// Per-thread buffers for the synchronous part of a read or a write: a session holds no buffer while
/// it is idle. Only touched between two suspension points of one coroutine or handler.
struct scratch_buffers {
    std::string out;
    std::vector<char> in = std::vector<char>(64 * 1024);
};
scratch_buffers& scratch() {
    thread_local scratch_buffers buffers;
    return buffers;
}

bool would_block(const boost::system::error_code& ec) {
    return ec == net::error::would_block || ec == net::error::try_again;
}

// The synchronous attempts call the system directly with MSG_DONTWAIT: Asio's would need the socket in
// non-blocking mode (one more system call per connection) for the same effect.

/// Writes what the socket takes now without blocking; returns how much.
std::size_t write_now(tcp::socket& sock, std::string_view bytes, boost::system::error_code& ec) {
    std::size_t written = 0;
    ec = {};
    while (written < bytes.size()) {
        const ssize_t n = ::send(sock.native_handle(), bytes.data() + written, bytes.size() - written,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                ec.assign(errno, boost::system::system_category());
            break;
        }
        written += static_cast<std::size_t>(n);
    }
    return written;
}

/// Reads what is there without blocking: the byte count, 0 at the end of the stream, or an error
/// (would_block when nothing is there).
std::size_t read_now(tcp::socket& sock, std::vector<char>& in, boost::system::error_code& ec) {
    ec = {};
    for (;;) {
        const ssize_t n = ::recv(sock.native_handle(), in.data(), in.size(), MSG_DONTWAIT);
        if (n >= 0)
            return static_cast<std::size_t>(n);
        if (errno == EINTR)
            continue;
        ec.assign(errno, boost::system::system_category());
        return 0;
    }
}

void append_packet_frame(std::string& out, const out_packet& p) {
    const std::string_view data = p.data ? std::string_view(*p.data) : std::string_view{};
    if (p.binary)
        append_frame(out, ws_opcode::binary, {}, data);
    else
        append_frame(out, ws_opcode::text, std::string_view(&type_chars[static_cast<std::size_t>(p.type)], 1),
                     data);
}

} // namespace

void session_impl::run_raw_websocket(raw_socket sock, std::string response) {
    raw_ = sock;
    raw_pending_ = std::move(response);
    SIO_LOG(engine_ws, debug, "session ", id_, ": websocket transport running");
    flush(); // the 101 and the open packet, in one write
    raw_wait(std::move(sock));
}

net::awaitable<void> session_impl::run_raw_upgrade([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                   raw_socket sock, std::string response) {
    const auto& o = server_->options_;
    boost::system::error_code ec;
    if (!may_start_upgrade()) {
        // Already upgrading or upgraded: the newcomer is answered and closed, the session is not touched.
        append_close_frame(response, static_cast<std::uint16_t>(ws_close_code::normal));
        co_await net::async_write(*sock, net::buffer(response), as_tuple_awaitable);
        sock->close(ec);
        co_return;
    }
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgrade to websocket started");
    upgrading_ = true;
    rare().upgrade_raw = sock;
    net::steady_timer deadline(strand_);
    deadline.expires_after(o.upgrade_timeout);
    // The timer lives as long as the reader; it cuts the socket only while it still probes.
    deadline.async_wait([weak = weak_from_this(), sock](beast::error_code wait_ec) {
        const auto s = weak.lock();
        if (!wait_ec && s && s->upgrade_raw() == sock) {
            beast::error_code ignored;
            sock->close(ignored);
        }
    });
    auto [wec, n] = co_await net::async_write(*sock, net::buffer(response), as_tuple_awaitable);
    if (wec || upgrade_raw() != sock) {
        if (upgrade_raw() == sock) {
            upgrading_ = false;
            end_probe();
        }
        sock->close(ec);
        co_return;
    }
    // Reads here while probing; once the socket is the transport, the session's reader takes over.
    for (;;) {
        auto [wait_ec] = co_await sock->async_wait(tcp::socket::wait_read, as_tuple_awaitable);
        if (!raw_read(sock, wait_ec))
            break;
        if (sock == raw_) {
            deadline.cancel();
            raw_wait(std::move(sock));
            co_return;
        }
    }
    deadline.cancel();
    if (upgrade_raw() == sock) { // the probe socket ended before the upgrade completed
        upgrading_ = false;
        end_probe();
    }
}

bool session_impl::may_start_upgrade() const noexcept {
    return state_ == state::open && transport() == transport_kind::polling && !upgrading_ &&
           server_->options_.allow_upgrades;
}

void session_impl::raw_upgrade_failed(const raw_socket& sock, std::uint16_t code) {
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgrade failed");
    if (upgrade_raw() == sock) {
        upgrading_ = false;
        end_probe();
    }
    std::string frame;
    append_close_frame(frame, code);
    boost::system::error_code ec;
    write_now(*sock, frame, ec);
    sock->close(ec);
}

/// The handler of the wait every idle connection keeps pending. A class with its own allocator rather than
/// `bind_allocator`: a binder specialises the associated executor, and Asio then keeps two copies of the
/// I/O executor in the operation (112 bytes) instead of one.
struct session_impl::raw_waiter {
    std::shared_ptr<session_impl> self;
    raw_socket sock;

    using allocator_type = exact_allocator<void>;
    allocator_type get_allocator() const noexcept { return {}; }
    void operator()(const boost::system::error_code& ec) {
        if (self->raw_read(sock, ec))
            self->raw_wait(std::move(sock));
    }
};

void session_impl::raw_wait(raw_socket sock) {
    if (sock == raw_ && raw_output_full()) {
        raw_read_paused_ = true; // raw_resume_reading() waits again once the write drains
        return;
    }
    auto& socket = *sock;
    raw_waiter on_ready{shared_from_this(), std::move(sock)};
    // A socket accepted for this session runs on its strand already: no binder, one work guard (this is
    // the operation every idle connection holds).
    if (socket.get_executor() == strand_)
        socket.async_wait(tcp::socket::wait_read, std::move(on_ready));
    else
        socket.async_wait(tcp::socket::wait_read, net::bind_executor(strand_, std::move(on_ready)));
}

bool session_impl::raw_read(const raw_socket& sock, const boost::system::error_code& wait_ec) {
    if (wait_ec)
        return raw_read_end(sock); // closed by the session, or a socket error
    boost::system::error_code ec;
    auto& in = scratch().in;
    const std::size_t n = read_now(*sock, in, ec);
    if (would_block(ec))
        return true;
    const bool is_transport = sock == raw_ && transport() == transport_kind::websocket;
    if (ec || n == 0) {
        // The peer went away (or closed its side after our close frame). The socket goes first: a
        // peer that ended the connection gets no close frame (like the reference).
        boost::system::error_code ignored;
        sock->close(ignored);
        if (is_transport && state_ != state::closed) {
            const bool clean = !ec || ec == net::error::eof || ec == net::error::connection_reset;
            SIO_LOG(engine_ws, debug, "session ", id_, ": websocket ended: ", ec);
            do_close(clean ? close_reason::transport_close : close_reason::transport_error,
                     ec ? ec.message() : "end of stream");
        } else if (sock == upgrade_raw()) {
            raw_upgrade_failed(sock, static_cast<std::uint16_t>(ws_close_code::normal));
        }
        return raw_read_end(sock);
    }
    if (sock != raw_ && sock != upgrade_raw())
        return raw_read_end(sock); // a failed probe
    if (is_transport && state_ == state::closed)
        return true; // the closing handshake: what the peer still sends is dropped
    in_read_batch_ = true;
    const auto status = parser_.feed(
        in.data(), n, [this, &sock](const frame_parser::event& e) { return raw_event(e, sock); });
    in_read_batch_ = false;
    drain_inbox(); // what the handlers sent, written together
    notify();
    if (status == frame_parser::status::ok)
        return true;
    if (status == frame_parser::status::stopped) {
        if (sock == raw_ || sock == upgrade_raw())
            return true; // closing: the reader waits for the peer's end
        return raw_read_end(sock);
    }
    const auto code = status == frame_parser::status::too_big              ? ws_close_code::too_big
                      : status == frame_parser::status::invalid_payload    ? ws_close_code::invalid_payload
                      : status == frame_parser::status::too_many_fragments ? ws_close_code::policy_violation
                                                                           : ws_close_code::protocol_error;
    SIO_LOG(engine_ws, debug, "session ", id_, ": invalid websocket frame (close code ",
            static_cast<int>(code), ")");
    if (sock == raw_ && transport() == transport_kind::websocket)
        raw_fail(static_cast<std::uint16_t>(code));
    else
        raw_upgrade_failed(sock, static_cast<std::uint16_t>(code));
    return raw_read_end(sock);
}

bool session_impl::raw_read_end(const raw_socket& sock) {
    boost::system::error_code ignored;
    sock->close(ignored);
    if (sock == raw_ && state_ == state::closed)
        wake(); // the closing handshake's bound
    return false;
}

bool session_impl::raw_event(const frame_parser::event& e, const raw_socket& sock) {
    const bool probing = sock == upgrade_raw();
    switch (e.op) {
    case ws_opcode::ping: {
        // Answered with a pong carrying the same data (RFC 6455 §5.5.2).
        if (probing) {
            std::string frame;
            append_frame(frame, ws_opcode::pong, {}, e.payload);
            boost::system::error_code ignored;
            write_now(*sock, frame, ignored);
        } else {
            // Written after this read. While a write is blocked, only the latest ping is answered (RFC
            // 6455 §5.5.3 allows it): a peer that pings and never reads cannot grow what the session keeps.
            if (raw_writing_)
                raw_pending_.resize(raw_pending_.size() - raw_pending_pong_);
            const std::size_t before = raw_pending_.size();
            append_frame(raw_pending_, ws_opcode::pong, {}, e.payload);
            raw_pending_pong_ = static_cast<std::uint8_t>(raw_pending_.size() - before);
        }
        return true;
    }
    case ws_opcode::pong:
        return true;
    case ws_opcode::close:
        if (probing) {
            raw_upgrade_failed(sock, static_cast<std::uint16_t>(ws_close_code::normal));
            return false;
        }
        // The client closes: the reply echoes its code (RFC 6455 §5.5.1), which must be one a peer may
        // send, with a UTF-8 reason (like the reference: 1002, or 1007 for the reason).
        if (e.payload.size() == 1) {
            raw_fail(static_cast<std::uint16_t>(ws_close_code::protocol_error));
            return false;
        }
        if (e.payload.size() >= 2) {
            const auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(e.payload[0]) << 8) |
                                                         static_cast<unsigned char>(e.payload[1]));
            if (!valid_peer_close_code(code)) {
                raw_fail(static_cast<std::uint16_t>(ws_close_code::protocol_error));
                return false;
            }
            if (!valid_utf8(e.payload.substr(2))) {
                raw_fail(static_cast<std::uint16_t>(ws_close_code::invalid_payload));
                return false;
            }
            raw_close_code_ = code;
        }
        do_close(close_reason::transport_close, "client close");
        return false;
    case ws_opcode::text:
    case ws_opcode::binary:
    case ws_opcode::continuation:
        break;
    }
    if (probing) {
        if (e.op == ws_opcode::text && e.payload == "2probe") {
            std::string frame;
            append_frame(frame, ws_opcode::text, {}, "3probe");
            boost::system::error_code ec;
            if (write_now(*sock, frame, ec) != frame.size() || state_ != state::open) {
                raw_upgrade_failed(sock, static_cast<std::uint16_t>(ws_close_code::normal));
                return false;
            }
            // Release a parked GET (or answer the next one) so the client can finish the upgrade.
            push_control(packet_type::noop);
            return true;
        }
        if (e.op != ws_opcode::text || e.payload != "5" || state_ != state::open) {
            raw_upgrade_failed(sock, static_cast<std::uint16_t>(ws_close_code::normal));
            return false;
        }
        // Upgrade complete: the WebSocket becomes the transport; what polling did not send goes over it.
        upgrading_ = false;
        end_probe();
        drain_inbox();
        std::erase_if(queue_, [this](const out_packet& p) {
            if (p.type != packet_type::noop)
                return false;
            release(p);
            return true;
        });
        raw_ = sock;
        transport_.store(transport_kind::websocket, std::memory_order_release);
        SIO_LOG(engine_socket, debug, "session ", id_, ": upgraded to websocket");
        wake(); // a parked GET answers a noop
        flush();
        return true;
    }
    if (state_ == state::closed)
        return false;
    if (e.op == ws_opcode::text) {
        packet p;
        if (decode_packet(e.payload, p)) {
            SIO_LOG(engine_ws, debug, "session ", id_, ": invalid packet");
            do_close(close_reason::parse_error, "invalid packet");
            return false;
        }
        on_packet(std::move(p));
    } else {
        on_packet(packet{packet_type::message, true, std::string(e.payload)});
    }
    return state_ != state::closed;
}

void session_impl::raw_fail(std::uint16_t code) {
    // Like the reference: a close frame names the problem, then the connection ends.
    std::string frame;
    append_close_frame(frame, code);
    boost::system::error_code ignored;
    if (!raw_writing_)
        write_now(*raw_, frame, ignored);
    do_close(close_reason::transport_error, "invalid websocket frame");
}

void session_impl::flush() {
    if (!raw_ || raw_writing_ || state_ == state::closed || transport() != transport_kind::websocket)
        return;
    if (queue_.empty() && raw_pending_.empty()) {
        if (state_ == state::closing) // closing and flushed
            do_close(close_reason::forced_close, "server close");
        return;
    }
    auto& out = scratch().out;
    out.clear();
    if (!raw_pending_.empty()) {
        out.append(raw_pending_);
        std::string().swap(raw_pending_);
        raw_pending_pong_ = 0;
    }
    std::size_t bytes = 0;
    for (const auto& p : queue_) {
        append_packet_frame(out, p);
        bytes += p.size();
    }
    queued_bytes_.fetch_sub(bytes);
    queued_packets_.fetch_sub(queue_.size());
    queue_.clear();
    if (queue_.capacity() > 64)
        std::vector<out_packet>().swap(queue_); // a burst does not pin its queue
    boost::system::error_code ec;
    const std::size_t written = write_now(*raw_, out, ec);
    if (ec) {
        SIO_LOG(engine_ws, debug, "session ", id_, ": write error: ", ec);
        do_close(close_reason::transport_error, ec.message());
    } else if (written < out.size()) {
        // The socket is full: the rest waits in the session until it drains, and counts as queued (so that
        // the overflow policy and the reader's back-pressure see it).
        raw_writing_ = true;
        queued_bytes_.fetch_add(out.size() - written);
        net::co_spawn(strand_, raw_write_rest(shared_from_this(), raw_, out.substr(written)), net::detached);
    } else if (state_ == state::closing) {
        do_close(close_reason::forced_close, "server close");
    }
    if (out.capacity() > 1024 * 1024)
        std::string().swap(out);
}

net::awaitable<void> session_impl::raw_write_rest([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                  raw_socket sock, std::string rest) {
    auto [ec, n] = co_await net::async_write(*sock, net::buffer(rest), as_tuple_awaitable);
    raw_writing_ = false;
    queued_bytes_.fetch_sub(rest.size());
    std::string().swap(rest);
    if (ec) {
        if (state_ != state::closed) {
            SIO_LOG(engine_ws, debug, "session ", id_, ": write error: ", ec);
            do_close(close_reason::transport_error, ec.message());
        }
        beast::error_code ignored;
        sock->close(ignored);
        co_return;
    }
    if (state_ == state::closed) {
        if (raw_closing_)
            raw_send_close();
        co_return;
    }
    flush();
    raw_resume_reading();
}

bool session_impl::raw_output_full() const noexcept {
    return raw_writing_ && queued_bytes_.load(std::memory_order_relaxed) + raw_pending_.size() >=
                               server_->options_.max_queued_bytes;
}

void session_impl::raw_resume_reading() {
    if (!raw_read_paused_ || raw_output_full() || state_ == state::closed)
        return;
    raw_read_paused_ = false;
    raw_wait(raw_);
}

void session_impl::raw_send_close() {
    raw_closing_ = false;
    auto sock = raw_;
    if (!sock->is_open())
        return;
    std::string frame;
    append_close_frame(frame, raw_close_code_);
    boost::system::error_code ec;
    write_now(*sock, frame, ec);
    sock->shutdown(tcp::socket::shutdown_send, ec);
    // The reader drops what still arrives and ends with the peer (do_close bounds the wait).
}

} // namespace sio::engineio::detail
