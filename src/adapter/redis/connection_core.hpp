// Private to the library: what the command and the subscriber connections share. Both hold a strand, the
// endpoint (sanitised), the session of the moment and the connection's state (`connection_core`), and
// run each session with `run_session`: connect, tell the owner, read (each reply goes to the owner's
// `take`), tell the owner how it ended. The owner (`Owner`) provides `ep`, `session_up(s)` (false when
// `s` is no longer the session awaited), `take(reply)` (an error ends the session) and
// `session_ended(s, ec)`, all called on the strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <system_error>
#include <utility>

#include "connection.hpp"
#include "session.hpp"

namespace sio::redis_detail {

namespace net = boost::asio;

/// `ep` with its limits and delays brought into range.
inline endpoint sanitize(endpoint ep) {
    if (ep.reconnect_min < std::chrono::milliseconds(1))
        ep.reconnect_min = std::chrono::milliseconds(1);
    if (ep.reconnect_max < ep.reconnect_min)
        ep.reconnect_max = ep.reconnect_min;
    if (ep.connect_timeout < std::chrono::milliseconds(0))
        ep.connect_timeout = std::chrono::milliseconds(0);
    if (ep.max_reply_bytes < 64)
        ep.max_reply_bytes = 64;
    if (ep.max_reply_elements < 16)
        ep.max_reply_elements = 16;
    if (ep.command_timeout < std::chrono::milliseconds(0))
        ep.command_timeout = std::chrono::milliseconds(0);
    return ep;
}

/// The back-off delay after `delay`: twice as long, up to `reconnect_max`.
inline std::chrono::milliseconds next_delay(std::chrono::milliseconds delay, const endpoint& ep) {
    return std::min(delay * 2, ep.reconnect_max);
}

/// What both connections hold: the strand, the endpoint, the session of the moment and its state.
struct connection_core {
    enum class state { idle, connecting, up, down, closed };

    connection_core(net::any_io_executor ex, endpoint e, state initial)
        : strand(net::make_strand(ex)), ep(sanitize(std::move(e))), st(initial), delay(ep.reconnect_min) {}

    const strand_type strand;
    const endpoint ep;
    std::atomic<bool> closed{false};
    std::atomic<bool> up{false};

    // Strand-only.
    state st;
    std::shared_ptr<session> current;
    std::chrono::milliseconds delay; ///< the next back-off delay

    bool connected() const noexcept { return up && !closed; }

    /// `s` connected: true when it is still the session awaited (the connection is then up).
    /// The back-off delay is not reset here: a server that accepts connections and drops them at once
    /// would be dialled at the shortest delay for ever. The owner calls `established` once Redis proved
    /// it answers.
    bool mark_up(const std::shared_ptr<session>& s) {
        if (s != current || st != state::connecting || s->stopped)
            return false;
        st = state::up;
        up = true;
        return true;
    }

    /// Redis answered on the current session: the next failure waits reconnect_min again.
    void established() { delay = ep.reconnect_min; }

    /// Stops `s` (with `ec` unless it already stopped); true when it was the current session (now gone).
    bool drop(const std::shared_ptr<session>& s, std::error_code ec) {
        s->stop(ec);
        if (s != current)
            return false;
        current.reset();
        up = false;
        return true;
    }

    /// Closes for good; false when already closed.
    bool mark_closed() {
        if (st == state::closed)
            return false;
        st = state::closed;
        up = false;
        if (current)
            current->stop(errc::closed);
        return true;
    }
};

/// close() of both connections: the first call has the strand shut the connection down.
template <class Impl>
void close_connection(const std::shared_ptr<Impl>& impl) {
    if (impl->closed.exchange(true))
        return;
    net::dispatch(impl->strand, [self = impl] { self->shutdown(); });
}

/// The session's reader: hands each reply to `self->take` (an error from it ends the session) until the
/// session ends; returns why.
template <class Owner>
net::awaitable<std::error_code> read_loop(std::shared_ptr<Owner> self, std::shared_ptr<session> s) {
    for (;;) {
        auto [ec, r] = co_await read_one_reply(s);
        if (ec)
            co_return ec;
        s->answered = true;
        if (auto derr = self->take(std::move(r)))
            co_return derr;
        if (s->stopped)
            co_return s->error;
    }
}

/// One session from start to end: connects, tells `self->session_up`, reads, tells `self->session_ended`.
template <class Owner>
net::awaitable<void> run_session(std::shared_ptr<Owner> self, std::shared_ptr<session> s, bool select_db) {
    std::error_code ec = co_await open_session(s, self->ep, select_db);
    if (!ec && self->session_up(s))
        ec = co_await read_loop(self, s);
    self->session_ended(s, ec);
}

} // namespace sio::redis_detail
