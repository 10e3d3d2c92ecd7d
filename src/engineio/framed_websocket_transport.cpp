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

void append_packet_frame(std::string& out, const out_packet& p) {
    if (p.binary)
        append_frame(out, ws_opcode::binary, {}, p.view());
    else
        append_frame(out, ws_opcode::text, packet_type_char(p.type), p.view());
}

} // namespace

void session_impl::run_framed_websocket(framed_socket sock, std::string response) {
    framed_.socket = sock;
    framed_.pending = std::move(response);
    SIO_LOG(engine_ws, debug, "session ", id_, ": websocket transport running");
    framed_flush(); // the 101 and the open packet, in one write
    framed_wait(std::move(sock));
}

net::awaitable<void> session_impl::run_framed_upgrade([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                      framed_socket sock, std::string response) {
    const auto& o = server_->options_;
    boost::system::error_code ec;
    if (!may_start_upgrade()) {
        // Already upgrading or upgraded: the newcomer is answered and closed, the session is not touched.
        append_close_frame(response, static_cast<std::uint16_t>(ws_close_code::normal));
        co_await net::async_write(*sock, net::buffer(response), as_tuple_awaitable);
        sock->close(ec);
        co_return;
    }
    upgrade_started();
    rare().framed_probe = sock;
    auto* const manual = server_->manual_clock_.get();
    net::steady_timer deadline(strand_);
    // The timer lives as long as the reader; it cuts the socket only while it still probes.
    sio::detail::wait_after(manual, deadline, o.upgrade_timeout,
                            [weak = weak_from_this(), sock](beast::error_code wait_ec) {
                                const auto s = weak.lock();
                                if (!wait_ec && s && s->framed_probe() == sock) {
                                    beast::error_code ignored;
                                    sock->close(ignored);
                                }
                            });
    auto [wec, n] = co_await net::async_write(*sock, net::buffer(response), as_tuple_awaitable);
    if (wec || framed_probe() != sock) {
        if (framed_probe() == sock)
            upgrade_failed();
        sock->close(ec);
        co_return;
    }
    // Reads here while probing; once the socket is the transport, the session's reader takes over.
    for (;;) {
        auto [wait_ec] = co_await sock->async_wait(tcp::socket::wait_read, as_tuple_awaitable);
        if (!framed_read(sock, wait_ec))
            break;
        if (sock == framed_.socket) {
            sio::detail::cancel_wait(manual, deadline);
            framed_wait(std::move(sock));
            co_return;
        }
    }
    sio::detail::cancel_wait(manual, deadline);
    if (framed_probe() == sock) // the probe socket ended before the upgrade completed
        upgrade_failed();
}

void session_impl::framed_probe_failed(const framed_socket& sock, std::uint16_t code) {
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgrade failed");
    if (framed_probe() == sock)
        upgrade_failed();
    std::string frame;
    append_close_frame(frame, code);
    boost::system::error_code ec;
    write_now(*sock, frame, ec);
    sock->close(ec);
}

/// The handler of the wait every idle connection keeps pending. A class with its own allocator rather than
/// `bind_allocator`: a binder specialises the associated executor, and Asio then keeps two copies of the
/// I/O executor in the operation (112 bytes) instead of one.
struct session_impl::framed_waiter {
    std::shared_ptr<session_impl> self;
    framed_socket sock;

    using allocator_type = exact_allocator<void>;
    allocator_type get_allocator() const noexcept { return {}; }
    void operator()(const boost::system::error_code& ec) {
        if (self->framed_read(sock, ec))
            self->framed_wait(std::move(sock));
    }
};

void session_impl::framed_wait(framed_socket sock) {
    if (sock == framed_.socket && framed_output_full()) {
        framed_.read_paused = true; // framed_resume_reading() waits again once the write drains
        return;
    }
    auto& socket = *sock;
    framed_waiter on_ready{shared_from_this(), std::move(sock)};
    // A socket accepted for this session runs on its strand already: no binder, one work guard (this is
    // the operation every idle connection holds).
    if (socket.get_executor() == strand_)
        socket.async_wait(tcp::socket::wait_read, std::move(on_ready));
    else
        socket.async_wait(tcp::socket::wait_read, net::bind_executor(strand_, std::move(on_ready)));
}

bool session_impl::framed_read(const framed_socket& sock, const boost::system::error_code& wait_ec) {
    if (wait_ec)
        return framed_read_end(sock); // closed by the session, or a socket error
    boost::system::error_code ec;
    auto& in = scratch().in;
    const std::size_t n = read_now(*sock, in, ec);
    if (would_block(ec))
        return true;
    const bool is_transport = sock == framed_.socket && transport() == transport_kind::websocket;
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
        } else if (sock == framed_probe()) {
            framed_probe_failed(sock, static_cast<std::uint16_t>(ws_close_code::normal));
        }
        return framed_read_end(sock);
    }
    if (sock != framed_.socket && sock != framed_probe())
        return framed_read_end(sock); // a failed probe
    if (is_transport && state_ == state::closed)
        return true; // the closing handshake: what the peer still sends is dropped
    framed_.in_read_batch = true;
    const auto status = framed_.parser.feed(
        in.data(), n, [this, &sock](const frame_parser::event& e) { return framed_event(e, sock); });
    framed_.in_read_batch = false;
    drain_inbox(); // what the handlers sent, written together
    notify();
    if (status == frame_parser::status::ok)
        return true;
    if (status == frame_parser::status::stopped) {
        if (sock == framed_.socket || sock == framed_probe())
            return true; // closing: the reader waits for the peer's end
        return framed_read_end(sock);
    }
    const auto code = failure_close_code(status);
    SIO_LOG(engine_ws, debug, "session ", id_, ": invalid websocket frame (close code ",
            static_cast<int>(code), ")");
    if (sock == framed_.socket && transport() == transport_kind::websocket)
        framed_fail(code);
    else
        framed_probe_failed(sock, code);
    return framed_read_end(sock);
}

bool session_impl::framed_read_end(const framed_socket& sock) {
    boost::system::error_code ignored;
    sock->close(ignored);
    if (sock == framed_.socket && state_ == state::closed)
        wake(); // the closing handshake's bound
    return false;
}

bool session_impl::framed_event(const frame_parser::event& e, const framed_socket& sock) {
    if (sock == framed_probe())
        return framed_probe_event(e, sock);
    switch (e.op) {
    case ws_opcode::ping:
        // Written after this read. While a write is blocked, only the latest ping is answered: a peer that
        // pings and never reads cannot grow what the session keeps.
        framed_.pending_pong =
            append_pong(framed_.pending, e.payload, framed_.writing ? framed_.pending_pong : 0);
        return true;
    case ws_opcode::pong:
        return true;
    case ws_opcode::close: {
        const auto answer = answer_close(e.payload);
        if (!answer.valid) {
            framed_fail(answer.code);
            return false;
        }
        framed_.close_code = answer.code; // echoed by the closing handshake
        do_close(close_reason::transport_close, "client close");
        return false;
    }
    case ws_opcode::text:
    case ws_opcode::binary:
    case ws_opcode::continuation:
        break;
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

bool session_impl::framed_probe_event(const frame_parser::event& e, const framed_socket& sock) {
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
        framed_probe_failed(sock, normal);
        return false;
    case ws_opcode::text:
    case ws_opcode::binary:
    case ws_opcode::continuation:
        break;
    }
    const auto step = probe_message(e.op == ws_opcode::text, e.payload);
    if (step == probe_step::answer) {
        std::string frame;
        append_frame(frame, ws_opcode::text, {}, probe_answer);
        boost::system::error_code ec;
        if (write_now(*sock, frame, ec) != frame.size() || state_ != state::open) {
            framed_probe_failed(sock, normal);
            return false;
        }
        upgrade_probe_answered();
        return true;
    }
    if (step != probe_step::complete || state_ != state::open) {
        framed_probe_failed(sock, normal);
        return false;
    }
    drain_inbox(); // while polling still is the transport (what may be dropped is decided as before)
    upgrade_completed();
    framed_.socket = sock;
    framed_flush();
    return true;
}

void session_impl::framed_fail(std::uint16_t code) {
    // Like the reference: a close frame names the problem, then the connection ends.
    std::string frame;
    append_close_frame(frame, code);
    boost::system::error_code ignored;
    if (!framed_.writing)
        write_now(*framed_.socket, frame, ignored);
    do_close(close_reason::transport_error, "invalid websocket frame");
}

void session_impl::framed_flush() {
    if (!framed_.socket || framed_.writing || state_ == state::closed ||
        transport() != transport_kind::websocket)
        return;
    if (queue_.empty() && framed_.pending.empty()) {
        if (state_ == state::closing) // closing and flushed
            do_close(close_reason::forced_close, "server close");
        return;
    }
    auto& out = scratch().out;
    out.clear();
    if (!framed_.pending.empty()) {
        out.append(framed_.pending);
        std::string().swap(framed_.pending);
        framed_.pending_pong = 0;
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
    const std::size_t written = write_now(*framed_.socket, out, ec);
    if (ec) {
        SIO_LOG(engine_ws, debug, "session ", id_, ": write error: ", ec);
        do_close(close_reason::transport_error, ec.message());
    } else if (written < out.size()) {
        // The socket is full: the rest waits in the session until it drains, and counts as queued (so that
        // the overflow policy and the reader's back-pressure see it).
        framed_.writing = true;
        queued_bytes_.fetch_add(out.size() - written);
        net::co_spawn(strand_, framed_write_rest(shared_from_this(), framed_.socket, out.substr(written)),
                      net::detached);
    } else if (state_ == state::closing) {
        do_close(close_reason::forced_close, "server close");
    }
    if (out.capacity() > 1024 * 1024)
        std::string().swap(out);
}

net::awaitable<void> session_impl::framed_write_rest([[maybe_unused]] std::shared_ptr<session_impl> self,
                                                     framed_socket sock, std::string rest) {
    auto [ec, n] = co_await net::async_write(*sock, net::buffer(rest), as_tuple_awaitable);
    framed_.writing = false;
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
        if (framed_.closing)
            framed_send_close();
        co_return;
    }
    framed_flush();
    framed_resume_reading();
}

bool session_impl::framed_output_full() const noexcept {
    return framed_.writing && queued_bytes_.load(std::memory_order_relaxed) + framed_.pending.size() >=
                                  server_->options_.max_queued_bytes;
}

void session_impl::framed_resume_reading() {
    if (!framed_.read_paused || framed_output_full() || state_ == state::closed)
        return;
    framed_.read_paused = false;
    framed_wait(framed_.socket);
}

void session_impl::framed_send_close() {
    framed_.closing = false;
    auto sock = framed_.socket;
    if (!sock->is_open())
        return;
    std::string frame;
    append_close_frame(frame, framed_.close_code);
    boost::system::error_code ec;
    write_now(*sock, frame, ec);
    sock->shutdown(tcp::socket::shutdown_send, ec);
    // The reader drops what still arrives and ends with the peer (do_close bounds the wait).
}

void session_impl::framed_close(bool graceful) {
    if (!graceful) {
        beast::error_code ignored;
        framed_.socket->close(ignored);
        return;
    }
    framed_.closing = true;
    if (!framed_.writing)
        framed_send_close();
    // A peer that neither reads what is still being written nor ends the connection is cut after
    // ping_timeout (the reader closes the socket, and cancels this, when the peer ends first).
    // (Not on the heartbeat wheel: a closed server stops it, and this must still run.)
    auto& linger = wake_timer();
    linger.expires_after(server_->options_.ping_timeout);
    linger.async_wait([sock = framed_.socket](const boost::system::error_code& wait_ec) {
        if (!wait_ec) {
            beast::error_code ignored;
            sock->close(ignored);
        }
    });
}

} // namespace sio::engineio::detail
