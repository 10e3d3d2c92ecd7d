// A session as a coroutine: `socket::receive()`, `socket::disconnected()`, the events waiting for them
// (event_inbox.hpp) with their back-pressure, and the connection handler coroutine that runs as the
// socket's session. Everything here runs on the socket's strand.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "../engineio/access.hpp"
#include "../log.hpp"
#include "access.hpp"
#include "client.hpp"
#include "event_inbox.hpp"
#include "namespace_state.hpp"
#include "server_state.hpp"
#include "socket_state.hpp"

namespace sio {
namespace detail {

#if defined(__x86_64__) && defined(__GLIBCXX__)
// Every socket is one make_shared block: 16 + 296 bytes, a 320-byte malloc chunk (336 beyond 296; the
// teardown registration's weak reference became a function pointer to get back under it).
static_assert(sizeof(socket_impl) <= 296, "a socket grew");
#endif

namespace {

using clock_type = net::steady_timer::clock_type;

/// Runs `op` on the socket's strand: inline when the awaiting coroutine runs there already, else as a
/// coroutine of its own there (resuming the caller on its executor).
template <class T>
net::awaitable<T> on_strand(std::shared_ptr<socket_impl> s, net::awaitable<T> op) {
    const auto strand = s->strand();
    if ((co_await net::this_coro::executor) == strand)
        co_return co_await std::move(op);
    co_return co_await net::co_spawn(strand, std::move(op), net::use_awaitable);
}

/// A receive(name) or disconnected() call's wait, counted in the inbox for the time it waits: it needs the
/// connection read, so it releases a held read. `name`: what a receive(name) wants (kept even beyond the
/// bound); nullptr for disconnected().
class reading_wait {
public:
    reading_wait(socket_impl& s, const std::string* name) : s_(s), name_(name) {
        auto& box = s_.inbox();
        ++box.reading_waits;
        if (name_)
            box.wanted.push_back(name_);
        s_.update_read_hold();
    }
    ~reading_wait() {
        auto& box = s_.inbox();
        --box.reading_waits;
        if (name_)
            std::erase(box.wanted, name_);
        try {
            s_.update_read_hold();
        } catch (...) {
        }
    }
    reading_wait(const reading_wait&) = delete;
    reading_wait& operator=(const reading_wait&) = delete;

private:
    socket_impl& s_;
    const std::string* name_;
};

void throw_if_cancelled(const net::cancellation_state& cs) {
    if (cs.cancelled() != net::cancellation_type::none)
        throw boost::system::system_error(net::error::operation_aborted);
}

net::awaitable<std::optional<event>> receive_on_strand(std::shared_ptr<socket_impl> s,
                                                       std::optional<std::string> name,
                                                       std::optional<std::chrono::milliseconds> timeout) {
    const auto cs = co_await net::this_coro::cancellation_state;
    if (s->connected_.load())
        s->receiving_ =
            true; // from now on events are kept; in a connection coroutine the bound holds reading
    const auto deadline = timeout ? clock_type::now() + *timeout : clock_type::time_point::max();
    std::optional<net::steady_timer> timer; // only when it has to wait
    for (;;) {
        if (auto ev = s->take_received(name))
            co_return ev;
        if (!s->connected_.load() || clock_type::now() >= deadline)
            co_return std::nullopt;
        if (!timer)
            timer.emplace(s->strand(), deadline);
        event_inbox::waiting registered(s->inbox(), *timer);
        std::optional<reading_wait> counted;
        if (name)
            counted.emplace(*s, &*name);
        co_await timer->async_wait(net::as_tuple(net::use_awaitable)); // woken by a new event or the end
        throw_if_cancelled(cs);
    }
}

net::awaitable<disconnect_reason> disconnected_on_strand(std::shared_ptr<socket_impl> s) {
    const auto cs = co_await net::this_coro::cancellation_state;
    std::optional<net::steady_timer> timer;
    for (;;) {
        if (!s->connected_.load()) {
            const auto r = s->reason_.load();
            co_return r == 0 ? disconnect_reason::forced_server_close : static_cast<disconnect_reason>(r - 1);
        }
        if (!timer)
            timer.emplace(s->strand(), clock_type::time_point::max());
        event_inbox::waiting registered(s->inbox(), *timer);
        reading_wait counted(*s, nullptr);
        co_await timer->async_wait(net::as_tuple(net::use_awaitable));
        throw_if_cancelled(cs);
    }
}

} // namespace

// --- socket_impl's part ---------------------------------------------------------------------------------

socket_impl::~socket_impl() = default;

event_inbox& socket_impl::inbox() {
    if (!inbox_) {
        inbox_ = std::make_unique<event_inbox>();
        if (const auto c = client_.lock()) {
            inbox_->max_events = std::max<std::size_t>(1, c->server_->options_.max_received_events);
            inbox_->max_bytes = std::max<std::size_t>(1, c->server_->options_.max_received_bytes);
        }
    }
    return *inbox_;
}

void socket_impl::keep_received(event&& ev, std::size_t bytes) {
    auto& box = inbox();
    if (box.full() && !box.holding_reading &&
        std::none_of(box.wanted.begin(), box.wanted.end(),
                     [&](const std::string* n) { return *n == ev.name; })) {
        // Beyond the bound and reading is not held (no receive() called yet, or the coroutine waits for
        // something the connection must deliver first): dropped, so a waiting receive(name), an ack or
        // the disconnection still get through.
        SIO_LOG(socket, debug, "socket ", id_, " dropped event ", ev.name,
                ": the events waiting for receive() are at their bound");
        return;
    }
    box.bytes += bytes;
    box.events.push_back({std::move(ev), bytes});
    update_read_hold();
    box.wake();
}

void socket_impl::update_read_hold() {
    if (!inbox_)
        return;
    auto& box = *inbox_;
    // Held only for a connection coroutine that called receive() and now waits for nothing the connection
    // must deliver first: not for one receive(name) or disconnected(), nor while an ack of its emit is due.
    const bool may_hold = receiving_ && session_coroutines_ != 0 && connected_.load() &&
                          box.reading_waits == 0 && (!acks_ || acks_->empty());
    if (!box.holding_reading && may_hold && box.full()) {
        SIO_LOG(socket, debug, "socket ", id_, ": ", box.events.size(), " events (", box.bytes,
                " bytes) wait for receive(); reading from the connection pauses");
        box.holding_reading = true;
        if (const auto c = client_.lock())
            c->hold_reading();
    } else if (box.holding_reading && (!may_hold || box.drained())) {
        SIO_LOG(socket, debug, "socket ", id_, ": reading from the connection resumes");
        box.holding_reading = false;
        if (const auto c = client_.lock())
            c->release_reading();
    }
}

std::optional<event> socket_impl::take_received(const std::optional<std::string>& name) {
    if (!inbox_ || inbox_->events.empty())
        return std::nullopt;
    auto& box = *inbox_;
    auto it = box.events.begin();
    if (name)
        it = std::find_if(box.events.begin(), box.events.end(),
                          [&](const auto& e) { return e.ev.name == *name; });
    if (it == box.events.end())
        return std::nullopt;
    std::optional<event> ev(std::move(it->ev));
    box.bytes -= it->bytes;
    box.events.erase(it);
    if (box.holding_reading && box.drained())
        update_read_hold();
    return ev;
}

void socket_impl::wake_receivers() noexcept {
    if (!inbox_)
        return;
    if (inbox_->holding_reading) { // disconnected: nothing more comes for this socket
        inbox_->holding_reading = false;
        try {
            if (const auto c = client_.lock())
                c->release_reading();
        } catch (...) {
        }
    }
    inbox_->wake();
}

void socket_impl::session_ended() {
    if (session_coroutines_ == 0 || --session_coroutines_ != 0)
        return;
    receiving_ = false;
    if (!inbox_)
        return;
    if (!inbox_->events.empty())
        SIO_LOG(socket, debug, "socket ", id_, ": its connection coroutine ended; ", inbox_->events.size(),
                " events waiting for receive() are dropped");
    inbox_->events.clear();
    inbox_->bytes = 0;
    if (inbox_->holding_reading) {
        inbox_->holding_reading = false;
        if (const auto c = client_.lock())
            c->release_reading();
    }
}

// --- the client's part: one hold of the session for all its sockets ---------------------------------------

void client::hold_reading() noexcept {
    // Saturates rather than wrapping (65 535 sockets holding at once): reading then resumes early.
    if (read_holds_ != UINT16_MAX && read_holds_++ == 0)
        engineio::detail::hold_reading(session_);
}

void client::release_reading() {
    if (read_holds_ != 0 && --read_holds_ == 0)
        engineio::detail::release_reading(session_);
}

void spawn_session(const socket& s, boost::asio::awaitable<void> session) {
    auto impl = access::state(s);
    impl->session_started();
    const auto strand = impl->strand();
    net::co_spawn(strand, std::move(session),
                  net::bind_executor(strand, [impl = std::move(impl)](std::exception_ptr e) {
                      if (e) {
                          // The coroutine ends; the socket stays connected (the application decides).
                          try {
                              std::rethrow_exception(e);
                          } catch (const std::exception& x) {
                              SIO_LOG(socket, error, "the connection coroutine of socket ", impl->id_,
                                      " threw: ", x.what());
                          } catch (...) {
                              SIO_LOG(socket, error, "the connection coroutine of socket ", impl->id_,
                                      " threw");
                          }
                      }
                      impl->session_ended();
                  }));
}

} // namespace detail

// --- the public calls -----------------------------------------------------------------------------------

boost::asio::awaitable<std::optional<event>> socket::receive() const {
    return detail::on_strand(impl_, detail::receive_on_strand(impl_, std::nullopt, std::nullopt));
}
boost::asio::awaitable<std::optional<event>> socket::receive(std::string name) const {
    return detail::on_strand(impl_, detail::receive_on_strand(impl_, std::move(name), std::nullopt));
}
boost::asio::awaitable<std::optional<event>> socket::receive(std::chrono::milliseconds timeout) const {
    return detail::on_strand(impl_, detail::receive_on_strand(impl_, std::nullopt, timeout));
}
boost::asio::awaitable<std::optional<event>> socket::receive(std::string name,
                                                             std::chrono::milliseconds timeout) const {
    return detail::on_strand(impl_, detail::receive_on_strand(impl_, std::move(name), timeout));
}
boost::asio::awaitable<disconnect_reason> socket::disconnected() const {
    return detail::on_strand(impl_, detail::disconnected_on_strand(impl_));
}
std::optional<disconnect_reason> socket::disconnection_reason() const noexcept {
    const auto r = impl_->reason_.load();
    if (r == 0)
        return std::nullopt;
    return static_cast<disconnect_reason>(r - 1);
}

} // namespace sio
