// The WebSocket transport of a plain TCP connection without permessage-deflate, framed by sio itself
// (ws_frame.hpp). Reading goes on in handlers that hold the session: one pending wait per idle
// connection, then a non-blocking read of what is there, parsed into messages and control frames.
// Writing builds the frames of everything queued and writes them with one non-blocking write; what the
// socket does not take is written asynchronously while the reader pauses once it reaches
// max_queued_bytes.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>

#include "../log.hpp"
#include "server_impl.hpp"
#include "session_impl.hpp"
#include "websocket_upgrade.hpp"
#include <sys/socket.h>

namespace sio::engineio::detail {

constexpr auto as_tuple_awaitable = net::as_tuple(net::use_awaitable);

namespace {

using tcp = net::ip::tcp;

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

void append_packet_frame(std::string& out, const out_packet& p, int protocol, bool v3_binary) {
    if (p.binary && protocol == 3 && !v3_binary) { // a v3 client that asked for base64
        std::string text;
        v3::append_text(text, p.type, true, p.view());
        append_frame(out, ws_opcode::text, {}, text);
    } else if (p.binary && protocol == 3) {
        append_frame(out, ws_opcode::binary, v3_binary_frame_prefix, p.view()); // the type byte first
    } else if (p.binary)
        append_frame(out, ws_opcode::binary, {}, p.view());
    else
        append_frame(out, ws_opcode::text, packet_type_char(p.type), p.view());
}

} // namespace

// --- the session's entry points: start, the probe's reader, the reader's wait --------------------------

void session_impl::run_framed_websocket(framed_socket sock, std::string response) {
    framed_reset().start(*this, std::move(sock), std::move(response));
}

net::awaitable<void> session_impl::run_framed_upgrade([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                      framed_socket sock, std::string response) {
    boost::system::error_code ec;
    if (!upgrade_begin(sock)) {
        // Already upgrading or upgraded: the newcomer is answered and closed, the session is not touched.
        append_close_frame(response, static_cast<std::uint16_t>(ws_close_code::normal));
        co_await net::async_write(*sock, net::buffer(response), as_tuple_awaitable);
        sock->close(ec);
        co_return;
    }
    auto [wec, n] = co_await net::async_write(*sock, net::buffer(response), as_tuple_awaitable);
    if (wec || framed_probe() != sock) {
        if (framed_probe() == sock)
            upgrade_fail();
        sock->close(ec);
        co_return;
    }
    // Reads here while probing (the upgrade procedure decides, framed_websocket::probe_event); once the
    // socket is the transport, the session's reader takes over.
    for (;;) {
        auto [wait_ec] = co_await sock->async_wait(tcp::socket::wait_read, as_tuple_awaitable);
        if (!framed_read(sock, wait_ec))
            break;
        if (is_framed_socket(sock)) {
            framed_wait();
            co_return;
        }
    }
    if (framed_probe() == sock) // the probe socket ended before the upgrade completed
        upgrade_fail();
}

/// The handler of the wait every idle connection keeps pending. A class with its own allocator rather than
/// `bind_allocator`: a binder specialises the associated executor, and Asio then keeps two copies of the
/// I/O executor in the operation (112 bytes) instead of one. It holds the session alone (the operation is
/// 144 bytes instead of 160): the socket it waits on is the transport's, which the session keeps for its
/// whole life once the transport runs (abandon() drops it: the operation is then cancelled, never run).
struct session_impl::framed_waiter {
    std::shared_ptr<session_impl> self;

    using allocator_type = exact_allocator<void>;
    allocator_type get_allocator() const noexcept { return {}; }
    void operator()(const boost::system::error_code& ec) {
        const auto* f = self->framed();
        if (!f || !f->socket)
            return; // abandoned
        if (self->framed_read(f->socket, ec))
            self->framed_wait();
    }
};

void session_impl::framed_wait() {
    auto* f = framed();
    if (f->output_full(*this) || reading_held()) {
        f->read_paused = true; // resume_reading() waits again once the write drains and reading is released
        return;
    }
    auto& socket = *f->socket;
    framed_waiter on_ready{shared_from_this()};
    // A socket accepted for this session runs on its strand already: no binder, one work guard (this is
    // the operation every idle connection holds).
    if (socket.get_executor() == strand_)
        socket.async_wait(tcp::socket::wait_read, std::move(on_ready));
    else
        socket.async_wait(tcp::socket::wait_read, net::bind_executor(strand_, std::move(on_ready)));
}

bool session_impl::framed_read(const framed_socket& sock, const boost::system::error_code& wait_ec) {
    if (auto* f = framed())
        return f->read(*this, sock, wait_ec);
    boost::system::error_code ignored; // a probe that failed; the session holds another transport now
    sock->close(ignored);
    return false;
}

// --- the transport ---------------------------------------------------------------------------------------

void framed_websocket::start(session_impl& s, framed_socket sock, std::string response) {
    socket = sock;
    pending = std::move(response);
    SIO_LOG(engine_ws, debug, "session ", s.id_, ": websocket transport running");
    flush(s); // the 101 and the open packet, in one write
    s.framed_wait();
}

bool framed_websocket::read(session_impl& s, const framed_socket& sock,
                            const boost::system::error_code& wait_ec) {
    if (wait_ec)
        return read_end(s, sock); // closed by the session, or a socket error
    boost::system::error_code ec;
    auto& in = scratch().in;
    const std::size_t n = read_now(*sock, in, ec);
    if (would_block(ec))
        return true;
    const bool is_transport = sock == socket && s.transport() == transport_kind::websocket;
    if (ec || n == 0) {
        // The peer went away (or closed its side after our close frame). The socket goes first: a
        // peer that ended the connection gets no close frame (like the reference).
        boost::system::error_code ignored;
        sock->close(ignored);
        if (is_transport && s.state_ != session_state::closed) {
            const bool clean = !ec || ec == net::error::eof || ec == net::error::connection_reset;
            SIO_LOG(engine_ws, debug, "session ", s.id_, ": websocket ended: ", ec);
            s.do_close(clean ? close_reason::transport_close : close_reason::transport_error,
                       ec ? ec.message() : "end of stream");
        } else if (sock == s.framed_probe()) {
            probe_failed(s, sock, static_cast<std::uint16_t>(ws_close_code::normal));
        }
        return read_end(s, sock);
    }
    if (sock != socket && sock != s.framed_probe())
        return read_end(s, sock); // a failed probe
    if (is_transport && s.state_ == session_state::closed)
        return true; // the closing handshake: what the peer still sends is dropped
    // The transport's socket, or the probe's: a probe reads with this parser too.
    in_read_batch = true;
    const auto status = parser.feed(
        in.data(), n, [this, &s, &sock](const frame_parser::event& e) { return on_event(s, e, sock); });
    in_read_batch = false;
    s.drain_inbox(); // what the handlers sent, written together
    s.notify();
    if (status == frame_parser::status::ok)
        return true;
    if (status == frame_parser::status::stopped) {
        if (sock == socket || sock == s.framed_probe())
            return true; // closing: the reader waits for the peer's end
        return read_end(s, sock);
    }
    const auto code = failure_close_code(status);
    SIO_LOG(engine_ws, debug, "session ", s.id_, ": invalid websocket frame (close code ",
            static_cast<int>(code), ")");
    if (sock == socket && s.transport() == transport_kind::websocket)
        fail(s, code);
    else
        probe_failed(s, sock, code);
    return read_end(s, sock);
}

bool framed_websocket::read_end(session_impl& s, const framed_socket& sock) {
    boost::system::error_code ignored;
    sock->close(ignored);
    if (sock == socket && s.state_ == session_state::closed)
        s.wake(); // the closing handshake's bound
    return false;
}

bool framed_websocket::on_event(session_impl& s, const frame_parser::event& e, const framed_socket& sock) {
    if (sock == s.framed_probe())
        return probe_event(s, e, sock);
    switch (e.op) {
    case ws_opcode::ping:
        // Written after this read. While a write is blocked, only the latest ping is answered: a peer that
        // pings and never reads cannot grow what the session keeps.
        pending_pong = append_pong(pending.get(), e.payload, writing ? pending_pong : 0);
        return true;
    case ws_opcode::pong:
        return true;
    case ws_opcode::close: {
        const auto answer = answer_close(e.payload);
        if (!answer.valid) {
            fail(s, answer.code);
            return false;
        }
        close_code = answer.code; // echoed by the closing handshake
        s.do_close(close_reason::transport_close, "client close");
        return false;
    }
    case ws_opcode::text:
    case ws_opcode::binary:
    case ws_opcode::continuation:
        break;
    }
    if (s.state_ == session_state::closed)
        return false;
    packet p;
    if (s.decode_ws_message(e.op == ws_opcode::text, e.payload, p)) {
        SIO_LOG(engine_ws, debug, "session ", s.id_, ": invalid packet");
        s.do_close(close_reason::parse_error, "invalid packet");
        return false;
    }
    s.on_packet(std::move(p));
    return s.state_ != session_state::closed;
}

bool framed_websocket::probe_event(session_impl& s, const frame_parser::event& e, const framed_socket& sock) {
    constexpr auto normal = static_cast<std::uint16_t>(ws_close_code::normal);
    switch (e.op) {
    case ws_opcode::ping: {
        // A probe has no queue: the pong is written at once.
        std::string frame;
        append_pong(frame, e.payload, 0);
        boost::system::error_code ignored;
        write_now(*sock, frame, ignored);
        return true;
    }
    case ws_opcode::pong:
        return true;
    case ws_opcode::close:
        probe_failed(s, sock, normal);
        return false;
    case ws_opcode::text:
    case ws_opcode::binary:
    case ws_opcode::continuation:
        break;
    }
    const auto action = s.upgrade_message(e.op == ws_opcode::text, e.payload);
    if (action == upgrade_action::write_answer) {
        std::string frame;
        append_frame(frame, ws_opcode::text, {}, probe_answer);
        boost::system::error_code ec;
        if (s.upgrade_answer_written(write_now(*sock, frame, ec) == frame.size()))
            return true;
    } else if (action == upgrade_action::complete) {
        s.drain_inbox(); // while polling still is the transport (what may be dropped is decided as before)
        s.upgrade_completed();
        socket = sock;
        flush(s);
        return true;
    }
    probe_failed(s, sock, normal);
    return false;
}

void framed_websocket::probe_failed(session_impl& s, const framed_socket& sock, std::uint16_t code) {
    if (s.framed_probe() == sock)
        s.upgrade_fail();
    std::string frame;
    append_close_frame(frame, code);
    boost::system::error_code ec;
    write_now(*sock, frame, ec);
    sock->close(ec);
}

void framed_websocket::write_queued(session_impl& s) {
    if (socket)
        flush(s);
    else
        s.wake(); // a probe: polling is the transport still
}

void framed_websocket::fail(session_impl& s, std::uint16_t code) {
    // Like the reference: a close frame names the problem, then the connection ends.
    std::string frame;
    append_close_frame(frame, code);
    boost::system::error_code ignored;
    if (!writing)
        write_now(*socket, frame, ignored);
    s.do_close(close_reason::transport_error, "invalid websocket frame");
}

void framed_websocket::flush(session_impl& s) {
    if (!socket || writing || s.state_ == session_state::closed || s.transport() != transport_kind::websocket)
        return;
    auto& queue = s.queue_;
    if (queue.empty() && pending.empty()) {
        if (s.state_ == session_state::closing) // closing and flushed
            s.do_close(close_reason::forced_close, "server close");
        return;
    }
    auto& out = scratch().out;
    out.clear();
    if (!pending.empty()) {
        out.append(pending.view());
        pending.reset();
        pending_pong = 0;
    }
    std::size_t bytes = 0;
    for (const auto& p : queue) {
        append_packet_frame(out, p, s.protocol(), s.v3_binary());
        bytes += p.size();
    }
    s.queued_bytes_.fetch_sub(bytes);
    s.queued_packets_.fetch_sub(queue.size());
    queue.clear(); // its capacity kept: no allocation per write
    if (queue.capacity() > 64)
        std::vector<out_packet>().swap(queue); // a burst does not pin its queue
    boost::system::error_code ec;
    const std::size_t written = write_now(*socket, out, ec);
    if (ec) {
        SIO_LOG(engine_ws, debug, "session ", s.id_, ": write error: ", ec);
        s.do_close(close_reason::transport_error, ec.message());
    } else if (written < out.size()) {
        // The socket is full: the rest waits in the session until it drains, and counts as queued (so that
        // the overflow policy and the reader's back-pressure see it).
        writing = true;
        s.queued_bytes_.fetch_add(out.size() - written);
        net::co_spawn(s.strand_, write_rest(s.shared_from_this(), socket, out.substr(written)),
                      net::detached);
    } else if (s.state_ == session_state::closing) {
        s.do_close(close_reason::forced_close, "server close");
    }
    if (out.capacity() > 1024 * 1024)
        std::string().swap(out);
}

net::awaitable<void> framed_websocket::write_rest(std::shared_ptr<session_impl> self, framed_socket sock,
                                                  std::string rest) {
    auto [ec, n] = co_await net::async_write(*sock, net::buffer(rest), as_tuple_awaitable);
    // The transport does not change once it is in use: this is still the session's.
    session_impl& s = *self;
    framed_websocket& f = *s.framed();
    f.writing = false;
    s.queued_bytes_.fetch_sub(rest.size());
    std::string().swap(rest);
    if (ec) {
        if (s.state_ != session_state::closed) {
            SIO_LOG(engine_ws, debug, "session ", s.id_, ": write error: ", ec);
            s.do_close(close_reason::transport_error, ec.message());
        }
        beast::error_code ignored;
        sock->close(ignored);
        co_return;
    }
    if (s.state_ == session_state::closed) {
        if (f.closing)
            f.send_close();
        co_return;
    }
    f.flush(s);
    f.resume_reading(s);
}

bool framed_websocket::output_full(const session_impl& s) const noexcept {
    return writing && s.queued_bytes_.load(std::memory_order_relaxed) + pending.size() >=
                          s.server_->options_.max_queued_bytes;
}

void framed_websocket::resume_reading(session_impl& s) {
    if (!read_paused || output_full(s) || s.reading_held() || s.state_ == session_state::closed)
        return;
    read_paused = false;
    s.framed_wait();
}

void framed_websocket::send_close() {
    closing = false;
    if (!socket->is_open())
        return;
    std::string frame;
    append_close_frame(frame, close_code);
    boost::system::error_code ec;
    write_now(*socket, frame, ec);
    socket->shutdown(tcp::socket::shutdown_send, ec);
    // The reader drops what still arrives and ends with the peer (do_close bounds the wait).
}

void framed_websocket::close(session_impl& s, bool graceful) {
    if (!socket)
        return; // a probe: the session closes it
    if (!graceful) {
        beast::error_code ignored;
        socket->close(ignored);
        return;
    }
    closing = true;
    if (!writing)
        send_close();
    // A peer that neither reads what is still being written nor ends the connection is cut after
    // ping_timeout (the reader closes the socket, and cancels this, when the peer ends first).
    // (Not on the heartbeat wheel: a closed server stops it, and this must still run.)
    auto& linger = s.wake_timer();
    linger.expires_after(s.server_->options_.ping_timeout);
    linger.async_wait([sock = socket](const boost::system::error_code& wait_ec) {
        if (!wait_ec) {
            beast::error_code ignored;
            sock->close(ignored);
        }
    });
}

} // namespace sio::engineio::detail
