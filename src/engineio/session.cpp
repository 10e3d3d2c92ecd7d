// The session core: the public handle, the queue, the inbox and its accounting, the close, the heartbeat
// and the listener. The transports are in polling_transport.cpp, framed_websocket_transport.cpp and
// beast_websocket_transport.cpp; the upgrade in websocket_upgrade.cpp.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "../log.hpp"
#include "access.hpp"
#include "server_impl.hpp"
#include "session_impl.hpp"

namespace sio::engineio {

// --- the public handle -------------------------------------------------------------------------------

const std::string& session::id() const noexcept {
    return impl_->id();
}
transport_kind session::transport() const noexcept {
    return impl_->transport();
}
const request_info& session::request() const {
    return impl_->request();
}
int session::protocol() const noexcept {
    return impl_->protocol();
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

void sio::engineio::detail::hold_reading(const session& s) noexcept {
    if (s)
        access::impl(s)->hold_reading();
}

void sio::engineio::detail::release_reading(const session& s) {
    if (s)
        access::impl(s)->release_reading();
}

std::error_code sio::engineio::detail::send_whole(const session& s, std::vector<outgoing> messages,
                                                  send_options opts) {
    if (!s)
        return error::session_closed;
    if (messages.size() == 1) { // one packet (a CONNECT answer): no batch
        auto& m = messages.front();
        return access::impl(s)->send({packet_type::message, m.binary, opts.compress, std::move(m.data)},
                                     opts.volatile_, true);
    }
    std::vector<out_packet> batch;
    batch.reserve(messages.size());
    for (auto& m : messages)
        batch.push_back({packet_type::message, m.binary, opts.compress, std::move(m.data)});
    return access::impl(s)->send_batch(std::move(batch), opts.volatile_, true);
}

void sio::engineio::detail::close_overflowed(const session& s) {
    if (s)
        access::impl(s)->close(close_reason::queue_overflow, "outgoing queue full");
}

sio::metrics_detail::registry* sio::engineio::detail::metrics_of(const session& s) noexcept {
    return access::impl(s)->metrics();
}

sio::detail::manual_clock* sio::engineio::detail::manual_clock_of(const session& s) noexcept {
    return access::impl(s)->test_clock();
}

namespace sio::engineio::detail {

sio::metrics_detail::registry* session_impl::metrics() const noexcept {
    return server_->metrics_.get();
}

sio::detail::manual_clock* session_impl::test_clock() const noexcept {
    return server_->manual_clock_.get();
}

constexpr auto as_tuple_awaitable = net::as_tuple(net::use_awaitable);

#if defined(__x86_64__) && defined(__GLIBCXX__)
// Every connection holds one: the WebSocket transport's state is held by value in one variant, an upgrade's
// probe is allocated while it runs. With make_shared's 16 bytes, a 448-byte malloc chunk (464 beyond 424).
static_assert(sizeof(session_impl) <= 424, "a session grew");
static_assert(sizeof(framed_websocket) <= 56,
              "the framed WebSocket's small fields left the parser's padding");
#endif

namespace {

/// `t` on the heartbeat wheel's clock as a wrapping 32-bit count of `Unit`s: the difference of two stamps
/// (unsigned, so across a wrap too) is the time between them, while that is shorter than the wrap.
template <class Unit>
std::uint32_t metrics_stamp(heartbeat_wheel::clock::time_point t) noexcept {
    return static_cast<std::uint32_t>(std::chrono::duration_cast<Unit>(t.time_since_epoch()).count());
}
using centiseconds = std::chrono::duration<std::int64_t, std::centi>;

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

} // namespace

session_impl::session_impl(std::shared_ptr<server_impl> server, std::string id, request_info request,
                           transport_kind t, net::any_io_executor strand)
    : abandonable(server->executor_), server_(std::move(server)), id_(std::move(id)), request_(request),
      strand_(std::move(strand)), transport_(t) {}

session_impl::~session_impl() {
    // First, and in the most derived class (hence `final`): the wheel knows this session by address, and
    // until this returns it may still ask for it (`lock_client`, which finds it expired).
    server_->heartbeats_->cancel(*this);
}

void session_impl::abandon() noexcept {
    // Destroyed after the members are reset: a hook's destructor may release other objects.
    auto listener = std::move(listener_);
    auto queue = std::move(queue_);
    auto probe = std::move(probe_);
    auto websocket = std::exchange(websocket_, no_websocket{});
    std::vector<inbound> inbox;
    {
        const std::lock_guard lock(inbox_mutex_);
        inbox.swap(inbox_);
    }
    listener_ = nullptr;
    queue_.clear();
}

session_impl::upgrade_probe_state& session_impl::probe_state() {
    if (!probe_)
        probe_ = std::make_unique<upgrade_probe_state>();
    return *probe_;
}

framed_websocket& session_impl::framed_reset() {
    const auto& o = server_->options_;
    return websocket_.emplace<framed_websocket>(o.max_http_buffer_size, o.max_ws_fragments);
}

const session_impl::framed_socket& session_impl::framed_probe() const noexcept {
    static const framed_socket none;
    return probe_ ? probe_->framed_probe : none;
}

void session_impl::end_probe() noexcept {
    if (probe_ && probe_->probe_deadline)
        sio::detail::cancel_wait(test_clock(), *probe_->probe_deadline);
    probe_.reset(); // the deadline's wait ends as cancelled
}

bool session_impl::reserve(std::size_t bytes, std::size_t packets, std::error_code& result, bool whole) {
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
    if (whole) { // the caller decides (counted as refused)
        metrics_detail::count(metrics(),
                              metrics_detail::cell::dropped_overflow +
                                  static_cast<std::size_t>(overflow_policy::fail),
                              static_cast<std::int64_t>(packets)); // metrics hook
        result = error::queue_full;
        return false;
    }
    metrics_detail::count(metrics(),
                          metrics_detail::cell::dropped_overflow + static_cast<std::size_t>(o.on_overflow),
                          static_cast<std::int64_t>(packets)); // metrics hook
    if (o.on_overflow != overflow_policy::drop)                // dropping silently is the `drop` policy
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
    return std::visit([](const auto& t) { return t.writable(); }, websocket_);
}

std::error_code session_impl::send(out_packet p, bool volatile_, bool whole) {
    std::error_code result;
    if (!reserve(p.size(), 1, result, whole))
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
    if (running_in(strand_) && framed() && framed()->in_read_batch)
        return;
    net::post(strand_, [self = shared_from_this()] {
        self->drain_inbox();
        self->notify();
    });
}

std::error_code session_impl::send_batch(std::vector<out_packet> batch, bool volatile_, bool whole) {
    if (batch.empty())
        return {};
    std::size_t bytes = 0;
    for (const auto& p : batch)
        bytes += p.size();
    std::error_code result;
    if (!reserve(bytes, batch.size(), result, whole))
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
    auto* const m = metrics(); // metrics hook: the messages queued and their bytes, added once per burst
    std::int64_t queued = 0;
    std::int64_t queued_bytes = 0;
    for (auto& in : inbox_spare_) {
        if (!in.follows)
            drop = state_ != state::open || (in.volatile_ && !writable());
        if (drop) {
            if (state_ == state::open) // metrics hook
                metrics_detail::count(m, metrics_detail::cell::dropped_volatile);
            release(in.packet);
        } else {
            if (m) { // metrics hook
                ++queued;
                queued_bytes += static_cast<std::int64_t>(in.packet.size());
            }
            queue_.push_back(std::move(in.packet));
        }
    }
    if (queued != 0) { // metrics hook
        const auto t = static_cast<std::size_t>(transport());
        m->add(metrics_detail::cell::messages_sent + t, queued, metrics_detail::cell::bytes_sent + t,
               queued_bytes);
    }
    inbox_spare_.clear();
    if (inbox_spare_.capacity() > 256)
        std::vector<inbound>().swap(inbox_spare_); // a burst does not pin its buffer
}

void session_impl::notify() {
    if (transport() == transport_kind::websocket)
        std::visit([this](auto& t) { t.write_queued(*this); }, websocket_);
    else
        wake(); // the parked GET
}

void no_websocket::write_queued(session_impl& s) {
    s.wake();
}

void session_impl::release_reading() {
    if (!read_held_)
        return;
    read_held_ = false;
    held_grace_used_ = false;
    if (state_ == state::closed)
        return;
    if (auto* f = framed(); f && f->socket)
        f->resume_reading(*this); // the socket is watched again
    else
        wake(); // Beast's reader or a POST waits (the writer and a parked GET check their own conditions)
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
    // Several may wait at once (Beast's writer and its held reader, a parked GET and a held POST): setting
    // the expiry again would cancel the others' waits.
    if (timer.expiry() != net::steady_timer::time_point::max())
        timer.expires_at(net::steady_timer::time_point::max());
    co_await timer.async_wait(as_tuple_awaitable);
}

void session_impl::push(out_packet p) {
    queue_.push_back(std::move(p));
    notify();
}

void session_impl::push_control(packet_type type, std::string_view data) {
    drain_inbox(); // what was sent before goes first
    out_packet p = control_packet(type, data);
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
    if (auto* m = metrics()) { // metrics hook
        m->add(metrics_detail::cell::sessions_opened + static_cast<std::size_t>(transport()));
        m->add(metrics_detail::cell::sessions_open + static_cast<std::size_t>(transport()));
        opened_stamp_ = metrics_stamp<centiseconds>(server_->heartbeats_->now());
    }
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

std::error_code session_impl::decode_ws_message(bool text, std::string_view payload, packet& out) const {
    if (protocol_ == 3)
        return text ? v3::decode_packet(payload, out) : v3::decode_binary_packet(payload, out);
    if (text)
        return decode_packet(payload, out);
    out = packet{packet_type::message, true, std::string(payload)};
    return {};
}

void session_impl::on_packet(packet&& p) {
    switch (p.type) {
    case packet_type::ping:
        if (protocol_ == 3) { // v3: the client pings, the server answers at once and waits for the next
            heartbeat_do(heartbeat_.pong_received(heartbeat_timing(), state_));
            if (state_ == state::open)
                push_control(packet_type::pong); // without data, like the reference
            return;
        }
        do_close(close_reason::transport_error, "invalid heartbeat direction");
        return;
    case packet_type::pong:
        if (protocol_ == 3) {
            do_close(close_reason::transport_error, "invalid heartbeat direction");
            return;
        }
        if (auto* m = metrics(); m && heartbeat_.awaiting_pong()) { // metrics hook: the ping's round trip
            const std::uint32_t now = metrics_stamp<std::chrono::microseconds>(server_->heartbeats_->now());
            m->ping_rtt(static_cast<std::size_t>(transport()), now - ping_sent_stamp_);
        }
        heartbeat_do(heartbeat_.pong_received(heartbeat_timing(), state_)); // a new cycle
        return;
    case packet_type::close:
        do_close(close_reason::transport_close, "client close");
        return;
    case packet_type::message:
        if (auto* m = metrics()) { // metrics hook
            const auto t = static_cast<std::size_t>(transport());
            m->add(metrics_detail::cell::messages_received + t);
            m->add(metrics_detail::cell::bytes_received + t, static_cast<std::int64_t>(p.data.size()));
        }
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

void session_impl::close_transports(bool graceful) {
    std::visit([this, graceful](auto& t) { t.close(*this, graceful); }, websocket_);
    if (!probe_)
        return;
    beast::error_code ignored;
    if (probe_->framed_probe)
        probe_->framed_probe->close(ignored);
    if (probe_->beast_probe)
        beast::get_lowest_layer(*probe_->beast_probe).socket().close(ignored);
}

void session_impl::do_close(close_reason reason, std::string description) {
    if (state_ == state::closed)
        return;
    const auto keep_alive = shared_from_this(); // the handlers below may hold the last references
    SIO_LOG(engine_socket, debug, "session ", id_, " closed: ", description, " (", to_string(reason), ")");
    state_ = state::closed;
    closing_.store(true, std::memory_order_release);
    if (auto* m = metrics()) { // metrics hook
        m->add(metrics_detail::cell::sessions_closed + static_cast<std::size_t>(reason));
        m->add(metrics_detail::cell::sessions_open + static_cast<std::size_t>(transport()), -1);
        const std::uint32_t now = metrics_stamp<centiseconds>(server_->heartbeats_->now());
        m->session_duration(static_cast<std::size_t>(transport()),
                            std::int64_t{10} * static_cast<std::uint32_t>(now - opened_stamp_));
    }
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
    close_transports(graceful);
    if (const auto listener = std::move(listener_)) {
        listener_ = nullptr;
        try {
            listener->on_close(reason, description);
        } catch (...) {
            SIO_LOG(engine_socket, warning, "session ", id_, ": the close handler threw");
        }
    }
}

// --- heartbeat ---------------------------------------------------------------------------------------

heartbeat::timing session_impl::heartbeat_timing() const noexcept {
    const auto& o = server_->options_;
    return {o.ping_interval, o.ping_timeout, o.polling_close_timeout};
}

void session_impl::heartbeat_arm() {
    heartbeat_do(heartbeat_.arm(heartbeat_timing(), state_));
}

void session_impl::heartbeat_cancel() noexcept {
    heartbeat_.cancel();
    server_->heartbeats_->cancel(*this); // a closed session leaves nothing on the wheel
}

void session_impl::due(std::uint32_t generation) {
    if (heartbeat_.is_current(generation)) // else re-armed or cancelled since
        heartbeat_do(heartbeat_.deadline_passed(heartbeat_timing(), state_));
}

void session_impl::heartbeat_do(heartbeat::step s) {
    switch (s.what) {
    case heartbeat::action::none:
        return;
    case heartbeat::action::ping_and_wait:
    case heartbeat::action::wait:
        // A new deadline replaces the last (its entry on the wheel goes stale). Before the ping is queued:
        // the deadline is in place once the peer can read the ping.
        if (!server_->closed()) // the server closes every session now, and has stopped the wheel
            server_->heartbeats_->schedule(shared_from_this(), heartbeat_.generation(), s.after);
        if (s.what == heartbeat::action::ping_and_wait) {
            if (metrics()) // metrics hook: the ping's round trip starts
                ping_sent_stamp_ = metrics_stamp<std::chrono::microseconds>(server_->heartbeats_->now());
            push_control(packet_type::ping);
        }
        return;
    case heartbeat::action::close_ping_timeout:
        if (reading_held() && !held_grace_used_) { // the pong may wait unread: one more cycle, not more
            held_grace_used_ = true;
            heartbeat_do(heartbeat_.arm(heartbeat_timing(), state_));
            return;
        }
        do_close(close_reason::ping_timeout, "ping timeout");
        return;
    case heartbeat::action::close_timeout:
        do_close(close_reason::transport_error, "close timeout");
        return;
    }
}

} // namespace sio::engineio::detail
