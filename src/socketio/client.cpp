// The Socket.IO side of one Engine.IO session: decodes packets, connects namespaces, routes packets to
// sockets. Everything runs on the session's strand.
#include "client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>

#include <algorithm>

#include "../engineio/access.hpp"
#include "../log.hpp"
#include "../manual_clock.hpp"
#include "../result_channel.hpp"
#include "fanout_queue.hpp"
#include "protocol_v4.hpp"
#include "server_state.hpp"

namespace sio::detail {

namespace {

disconnect_reason from_engine(engineio::close_reason r) {
    switch (r) {
    case engineio::close_reason::transport_close:
        return disconnect_reason::transport_close;
    case engineio::close_reason::transport_error:
        return disconnect_reason::transport_error;
    case engineio::close_reason::parse_error:
        return disconnect_reason::parse_error;
    case engineio::close_reason::ping_timeout:
        return disconnect_reason::ping_timeout;
    case engineio::close_reason::forced_close:
        return disconnect_reason::forced_close;
    case engineio::close_reason::forced_server_close:
        return disconnect_reason::server_shutting_down;
    case engineio::close_reason::queue_overflow:
        return disconnect_reason::transport_error;
    }
    return disconnect_reason::transport_error;
}

protocol::packet connect_error(const std::string& nsp, const std::string& message, boost::json::value data) {
    protocol::packet p;
    p.type = protocol::packet_type::connect_error;
    p.nsp = nsp;
    boost::json::object o;
    o["message"] = message;
    if (!data.is_null())
        o["data"] = std::move(data);
    p.data = std::move(o);
    return p;
}

/// Queues the missed packets of a recovery (if any) and the CONNECT answer as one unit: all or none.
std::error_code send_connect_answer(const engineio::session& session,
                                    const std::vector<protocol::encoded_packet>* missed,
                                    const protocol::encoded_packet& answer) {
    std::vector<engineio::outgoing> batch;
    const auto append = [&batch](const protocol::encoded_packet& p) {
        if (p.text)
            batch.push_back({p.text, false});
        for (const auto& a : p.attachments)
            batch.push_back({a, true});
    };
    const std::size_t packets = (missed ? missed->size() : 0) + 1;
    if (missed)
        for (const auto& p : *missed)
            append(p);
    append(answer);
    const auto ec = engineio::detail::send_whole(session, std::move(batch));
    if (!ec) // metrics hook
        metrics_detail::count(engineio::detail::metrics_of(session), metrics_detail::cell::packets_sent,
                              static_cast<std::int64_t>(packets));
    return ec;
}

/// Closes `session` when destroyed before `handed` is set (the scope left by an exception).
class close_unless_handed {
public:
    explicit close_unless_handed(const engineio::session& session) noexcept : session_(session) {}
    close_unless_handed(const close_unless_handed&) = delete;
    close_unless_handed& operator=(const close_unless_handed&) = delete;
    ~close_unless_handed() {
        if (handed)
            return;
        try {
            session_.close();
        } catch (...) { // nothing more can be done here; the log of the fan-out tells what threw
        }
    }
    bool handed = false;

private:
    const engineio::session& session_;
};

} // namespace

client::client(std::shared_ptr<server_state> server, engineio::session session)
    : server_(std::move(server)), session_(std::move(session)), decoder_(server_->options_.parser) {
    if (server_->codec_ != protocol::json_parser())
        codec_decoder_ = server_->codec_->make_decoder(server_->options_.parser);
}

void client::start() {
    engineio::detail::set_listener(session_, shared_from_this());
    connect_timer_ = std::make_unique<net::steady_timer>(session_.executor());
    wait_after(engineio::detail::manual_clock_of(session_), *connect_timer_,
               server_->options_.connect_timeout, [weak = weak_from_this()](boost::system::error_code ec) {
                   if (auto c = weak.lock(); c && !ec && c->sockets_.empty())
                       c->fail("no namespace joined in time", error::connect_timeout);
               });
    if (session_.protocol() == 3) // a Socket.IO v4 client joins "/" without asking (protocol_v4.hpp)
        net::dispatch(session_.executor(), [self = shared_from_this()] {
            if (!self->closed_)
                self->connect("/", {});
        });
}

void client::fail(const char* why, std::error_code cause) {
    if (close_deferred_) { // the close behind the slices comes, after the DISCONNECTs they hold
        SIO_LOG(client, debug, "connection ", session_.id(), " already closing after a broadcast: ", why);
        return;
    }
    SIO_LOG(client, debug, "closing connection ", session_.id(), ": ", why);
    decoder_reset();
    if (cause) {
        // The reference's reason for both causes (its client.close() after a bad packet or no CONNECT).
        const auto sockets = sockets_; // closing a socket removes it from sockets_
        for (const auto& s : sockets)
            s->close(disconnect_reason::forced_server_close);
    }
    session_.close();
}

void client::close() {
    net::dispatch(session_.executor(), [self = shared_from_this()] { self->fail("closed by the server"); });
}

void client::disconnect_all() {
    const auto sockets = sockets_; // leaving removes each socket from sockets_
    for (const auto& s : sockets)
        s->leave_namespace();
    // A DISCONNECT may wait behind a large broadcast's slices: the connection closes after them.
    if (close_deferred_)
        return;
    std::function<void()> close_later = [self = shared_from_this()] {
        // Should handing the close to the strand throw (an allocation), the session closes from here
        // (any thread); its close, on the strand, clears close_deferred_: never a connection that ignores
        // its client and waits for a close that does not come.
        close_unless_handed guard(self->session_);
        net::dispatch(self->session_.executor(), [self] {
            self->close_deferred_ = false;
            self->fail("closed by the server");
        });
        guard.handed = true;
    };
    if (!in_fanout_slice() && defer_after_fanout(session_.executor(), close_later)) {
        close_deferred_ = true;
        return;
    }
    fail("closed by the server");
}

bool client::refuse_while_closing(const std::string& name) {
    if (!server_->closing())
        return false;
    SIO_LOG(client, debug, "refusing a connection to ", name, ": the server is closing");
    auto refusal = connect_error(name, "server shutting down", nullptr);
    if (session_.protocol() == 3)
        refusal.data = protocol_v4::connect_error_data("server shutting down", nullptr);
    // The connection closes with the server's graceful close, after what the broadcasts still hold.
    send_encoded(session_, server_->codec_->encode(refusal), false, true);
    return true;
}

void client::on_message(engineio::message&& m) {
    if (closed_ || close_deferred_)
        return;
    std::optional<protocol::packet> packet;
    std::error_code ec;
    const bool binary = m.binary;
    const bool was_pending = decoder_pending();
    if (!binary || codec_decoder_) // a packet's size on the wire (its attachments not counted)
        text_bytes_ = static_cast<std::uint32_t>(std::min<std::size_t>(m.data.size(), 0xffffffffu));
    if (codec_decoder_)
        ec = codec_decoder_->on_message(std::move(m.data), binary, packet);
    else if (binary)
        ec = decoder_.on_binary(std::move(m.data), packet);
    else
        ec = decoder_.on_text(m.data, packet);
    if (!ec && !was_pending && decoder_pending()) {
        // Attachments are only accepted from a client that joined a namespace, and only for so long.
        if (sockets_.empty()) {
            fail("binary packet before CONNECT");
            return;
        }
        if (!attachment_timer_)
            attachment_timer_ = std::make_unique<net::steady_timer>(session_.executor());
        wait_after(engineio::detail::manual_clock_of(session_), *attachment_timer_,
                   server_->options_.attachment_timeout,
                   [weak = weak_from_this()](boost::system::error_code e) {
                       if (auto c = weak.lock(); c && !e && c->decoder_pending())
                           c->fail("attachments not received in time");
                   });
    }
    if (ec) {
        SIO_LOG(parser, debug, "decode error on connection ", session_.id(), ": ", ec);
        fail("parse error");
        return;
    }
    if (packet) {
        if (attachment_timer_)
            cancel_wait(engineio::detail::manual_clock_of(session_), *attachment_timer_);
        on_decoded(std::move(*packet));
    }
}

void client::on_decoded(protocol::packet&& p) {
    using protocol::packet_type;
    if (session_.protocol() == 3) { // Socket.IO v4: `/nsp?query`, the query being a CONNECT's auth
        auto parts = protocol_v4::split(p.nsp);
        if (p.type == packet_type::connect) {
            auto auth = protocol_v4::query_auth(parts.query);
            if (!auth) {
                fail("parse error");
                return;
            }
            p.data = std::move(*auth);
        }
        p.nsp = std::move(parts.name);
    }
    if (p.type == packet_type::connect) {
        auto auth = p.data.is_object() ? std::move(p.data.as_object()) : boost::json::object{};
        if (find_socket(p.nsp) || is_connecting(p.nsp)) {
            fail("second CONNECT for a namespace", error::protocol_violation);
            return;
        }
        connect(p.nsp, std::move(auth));
        return;
    }
    auto* found = find_socket(p.nsp);
    if (!found && server_->closing()) // its socket was closed by the shutdown: the engine's close follows
        return;
    if (!found || p.type == packet_type::connect_error) {
        fail("packet for a namespace not joined", error::protocol_violation);
        return;
    }
    auto s = *found; // the packet may disconnect it
    s->on_packet(std::move(p), text_bytes_);
}

void client::connect(const std::string& name, boost::json::object auth) {
    SIO_LOG(client, debug, "connection ", session_.id(), " connecting to namespace ", name);
    if (refuse_while_closing(name))
        return;
    auto nsp = server_->lookup(name, auth);
    if (!nsp) {
        SIO_LOG(client, debug, "refusing connection to non-existent namespace ", name);
        send_encoded(session_, server_->codec_->encode(connect_error(name, "Invalid namespace", nullptr)),
                     false, true);
        return;
    }
    if (nsp->recovers_) {
        // The reference tries to recover only for a string pid and a string offset; without an offset
        // (the client received no event before the drop), sio still tries (the store decides).
        const auto* pid = auth.if_contains("pid");
        const auto* offset = auth.if_contains("offset");
        if (pid && pid->is_string() && (!offset || offset->is_string())) {
            std::optional<std::string> off;
            if (offset)
                off = std::string(offset->as_string());
            std::string pid_text(pid->as_string()); // before `auth` moves
            connecting_add(name);
            net::co_spawn(session_.executor(),
                          recover(shared_from_this(), std::move(nsp), name, std::move(auth),
                                  std::move(pid_text), std::move(off)),
                          net::detached);
            return;
        }
    }
    join(std::move(nsp), name, std::move(auth), std::nullopt);
}

net::awaitable<void> client::recover([[maybe_unused]] std::shared_ptr<client> self,
                                     std::shared_ptr<namespace_impl> nsp, std::string name,
                                     boost::json::object auth, std::string pid,
                                     std::optional<std::string> offset) {
    if (server_->options_.connection_state_recovery->takeover) {
        if (auto old = nsp->live_socket(pid); old && old->client_.lock().get() != this) {
            // The client is back before this server noticed its old connection died: close that one
            // (its session is saved on the way out), then restore as usual.
            SIO_LOG(namespace_, debug, "socket ", old->id_, " of ", name, " taken over by a new connection");
            auto done = std::make_shared<result_channel<bool>>(session_.executor(), 1);
            net::dispatch(old->strand(), [old, done] {
                old->close(disconnect_reason::transport_close);
                old->session_.close();
                done->try_send(boost::system::error_code{}, true);
            });
            (void)co_await done->async_receive(net::as_tuple(net::use_awaitable));
            if (closed_ || !session_.is_open())
                co_return;
        }
    }
    std::optional<restored_session> restored;
    try {
        restored = co_await nsp->adapter().restore_session(std::move(pid), std::move(offset));
    } catch (const std::exception& e) {
        SIO_LOG(namespace_, warning, "restoring a session of ", name, " failed: ", e.what());
    }
    if (closed_ || !session_.is_open()) // closed meanwhile: nothing is consumed, nothing attached
        co_return;
    metrics_detail::count(nsp->metrics_.get(),
                          metrics_detail::cell::recoveries + (restored ? 0 : 1)); // metrics hook
    connecting_done(name);
    join(std::move(nsp), name, std::move(auth), std::move(restored));
}

void client::join(std::shared_ptr<namespace_impl> nsp, const std::string& name, boost::json::object auth,
                  std::optional<restored_session> restored) {
    const bool recovered = restored.has_value();
    auto s = engineio::detail::abandonable::make<socket_impl>(
        nsp, shared_from_this(),
        recovered                  ? restored->session.sid
        : session_.protocol() == 3 ? protocol_v4::socket_id(name, session_.id())
                                   : generate_socket_id(),
        std::move(auth));
    if (nsp->recovers_) {
        s->recovery_ = std::make_unique<socket_impl::recovery_state>();
        s->recovery_->pid = recovered ? restored->session.pid : generate_socket_id();
        if (recovered) {
            s->recovered_ = true;
            s->data_ = std::move(restored->session.data);
            s->recovery_->restored = std::move(restored);
        }
    }
    std::vector<namespace_::middleware> middlewares;
    {
        if (nsp->parent_) {
            std::lock_guard lock(nsp->parent_->mutex_);
            middlewares = nsp->parent_->middlewares_;
        }
        std::lock_guard lock(nsp->mutex_);
        middlewares.insert(middlewares.end(), nsp->middlewares_.begin(), nsp->middlewares_.end());
    }
    if (recovered && server_->options_.connection_state_recovery->skip_middlewares)
        middlewares.clear();
    if (middlewares.empty()) {
        admit(s, nsp, name); // no middleware: no coroutine either
        return;
    }
    connecting_add(name);
    net::co_spawn(session_.executor(),
                  run_middlewares(shared_from_this(), s, std::move(nsp), name, std::move(middlewares)),
                  net::detached);
}

net::awaitable<void> client::run_middlewares([[maybe_unused]] std::shared_ptr<client> self,
                                             std::shared_ptr<socket_impl> s,
                                             std::shared_ptr<namespace_impl> nsp, std::string name,
                                             std::vector<namespace_::middleware> middlewares) {
    socket handle(s);
    for (auto& mw : middlewares) {
        std::optional<middleware_error> err;
        try {
            err = co_await mw(handle);
        } catch (const std::exception& e) {
            SIO_LOG(namespace_, warning, "a middleware of ", name, " threw: ", e.what());
            err = middleware_error{e.what(), nullptr};
        }
        if (closed_ || !session_.is_open())
            co_return;
        if (err) {
            SIO_LOG(namespace_, debug, "middleware refused a connection to ", name, ": ", err->message);
            connecting_done(name);
            metrics_detail::count(nsp->metrics_.get(),
                                  metrics_detail::cell::socket_connect_errors); // metrics hook
            auto refusal = connect_error(name, err->message, std::move(err->data));
            if (session_.protocol() == 3) { // the v4 ERROR packet: the data, else the message alone
                const auto& o = refusal.data.as_object();
                const auto* data = o.if_contains("data");
                refusal.data = protocol_v4::connect_error_data(err->message, data ? *data : nullptr);
            }
            send_encoded(session_, server_->codec_->encode(refusal), false, true);
            co_return;
        }
    }
    connecting_done(name);
    admit(s, nsp, name);
}

void client::admit(const std::shared_ptr<socket_impl>& s, const std::shared_ptr<namespace_impl>& nsp,
                   const std::string& name) {
    if (closed_ || !session_.is_open()) // the connection went while the socket was being made
        return;
    if (refuse_while_closing(name)) // the server began closing while the socket was being made
        return;
    socket handle(s);
    // The CONNECT answer is queued before the socket becomes visible to broadcasts (which other threads
    // may be sending right now): the client must get it before any event of the namespace. The missed
    // packets of a recovery go with it as one unit, all queued or none (whatever the overflow policy):
    // false when the connection's queue refused them.
    std::error_code write_error;
    bool answered = false; // one CONNECT answer per socket, whatever an adapter's recovery step does
    const auto answer_connect = [&](const std::vector<protocol::encoded_packet>* missed) {
        if (answered)
            return true;
        // Its JSON lives in a stack buffer: only the encoded text is allocated.
        unsigned char arena[256];
        boost::json::monotonic_resource mr(arena, sizeof(arena));
        protocol::packet ok{.type = protocol::packet_type::connect,
                            .nsp = name,
                            .id = std::nullopt,
                            .data = boost::json::value(&mr),
                            .attachments = {}};
        if (session_.protocol() != 3) { // a v4 client's CONNECT answer has no payload
            auto& answer = ok.data.emplace_object();
            answer["sid"] = s->id_; // (assigning would copy it into ok.data's default storage)
            if (s->recovery_)
                answer["pid"] = s->recovery_->pid;
        }
        write_error = send_connect_answer(session_, missed, nsp->codec_->encode(ok));
        if (write_error)
            return false;
        answered = true;
        // Counted before the socket is connected (its close uncounts it) and before the adapter shows it to
        // broadcasts, handlers and scrapes: the namespace's count never goes below the sockets seen.
        nsp->socket_count_.fetch_add(1, std::memory_order_relaxed);
        s->connected_.store(true);
        return true;
    };
    // The connection's queue did not take the answer: the socket is not attached, and the connection
    // closes as an overflow (a client without its CONNECT answer would wait for it until its timeout).
    const auto refused = [&] {
        forget_socket(s);
        SIO_LOG(namespace_, debug, "socket ", s->id_, " of ", name, " not added: ", write_error.message());
        if (write_error == error::queue_full)
            engineio::detail::close_overflowed(session_);
    };
    sockets_.push_back(s);
    if (s->recovered_) {
        // One adapter step: what was kept for it since the restore is added to the missed packets, which
        // are written first, then the CONNECT answer (the reference's order; its client buffers the events
        // until CONNECT), then the socket joins its rooms; the saved session is consumed only now. Unlike
        // the reference, nothing is written before the middlewares agreed.
        auto restored = std::move(*s->recovery_->restored);
        s->recovery_->restored.reset();
        const bool added = nsp->adapter().add_recovered_socket(
            handle, restored, [&] { return answer_connect(&restored.missed); });
        if (write_error == error::queue_full) {
            // The replay is more than the outgoing queue takes (at a CONNECT the queue holds little else), so
            // a next attempt would be refused too: a fresh socket, as when the offset is too old. The saved
            // session is left to expire (engine_options' queue limits should exceed what a session can miss).
            forget_socket(s);
            SIO_LOG(namespace_, warning, "socket ", s->id_, " of ", name, ": ", restored.missed.size(),
                    " missed packets exceed the outgoing queue; connected afresh");
            join(nsp, name, s->handshake().auth, std::nullopt);
            return;
        }
        if (write_error) {
            refused();
            return;
        }
        if (!added && answered) {
            // The adapter wrote the answer, then refused (its contract says it does nothing then): the
            // client holds this socket's CONNECT answer and missed packets, so the socket stays, added the
            // default way (the adapter, then its rooms), rather than answering the client twice.
            SIO_LOG(namespace_, warning, "the adapter of ", name, " wrote the recovery of socket ", s->id_,
                    " then refused it: the socket is added without its recovery step");
            (void)nsp->adapter().adapter::add_recovered_socket(handle, restored, [] { return true; });
        } else if (!added) { // the session went since the restore (expired, taken, packets dropped): start
                             // afresh
            forget_socket(s);
            SIO_LOG(namespace_, debug, "socket ", s->id_, " of ", name, " can no longer be recovered");
            join(nsp, name, s->handshake().auth, std::nullopt);
            return;
        }
        SIO_LOG(namespace_, debug, "socket ", s->id_, " of ", name, " recovered with ",
                restored.missed.size(), " missed packets");
    } else {
        if (!answer_connect(nullptr)) {
            refused();
            return;
        }
        nsp->adapter().add_socket(handle);
    }
    reset_timer(engineio::detail::manual_clock_of(session_), connect_timer_); // cancels the wait
    if (s->recovery_) {
        nsp->add_live_pid(s->recovery_->pid, s);
        nsp->adapter().session_opened(handle, s->recovery_->pid);
    }
    SIO_LOG(namespace_, debug, "socket ", s->id_, " added to ", name);
    metrics_detail::count(nsp->metrics_.get(), // metrics hook
                          metrics_detail::cell::socket_connects + (s->recovered_ ? 1 : 0));
    for (const auto& o : server_->observers_)
        o->on_socket(handle);

    std::vector<std::function<void(socket)>> handlers;
    std::vector<std::function<net::awaitable<void>(socket)>> coro_handlers;
    auto collect = [&](namespace_impl* n) {
        if (!n)
            return;
        std::lock_guard lock(n->mutex_);
        handlers.insert(handlers.end(), n->on_connection_.begin(), n->on_connection_.end());
        coro_handlers.insert(coro_handlers.end(), n->on_connection_coro_.begin(),
                             n->on_connection_coro_.end());
    };
    collect(nsp->parent_.get());
    collect(nsp.get());
    for (auto& h : handlers) {
        try {
            h(handle);
        } catch (const std::exception& e) {
            SIO_LOG(namespace_, warning, "a connection handler of ", name, " threw: ", e.what());
        }
    }
    for (auto& h : coro_handlers)
        spawn_session(handle,
                      invoke_owned(std::make_shared<std::function<net::awaitable<void>(socket)>>(h), handle));
}

void client::remove(const std::string& nsp) {
    sockets_.erase(
        std::remove_if(sockets_.begin(), sockets_.end(),
                       [&](const std::shared_ptr<socket_impl>& s) { return s->nsp_->name_ == nsp; }),
        sockets_.end());
}

void client::on_upgrade() {
    if (server_->observers_.empty())
        return;
    for (const auto& s : sockets_)
        for (const auto& o : server_->observers_)
            o->on_upgrade(socket(s));
}

void client::on_close(engineio::close_reason reason, std::string_view) {
    SIO_LOG(client, debug, "connection ", session_.id(), " closed (", engineio::to_string(reason), ")");
    closed_ = true;
    close_deferred_ = false;
    for (const auto& o : server_->observers_)
        o->on_session_close(session_, reason);
    reset_timer(engineio::detail::manual_clock_of(session_), connect_timer_);
    reset_timer(engineio::detail::manual_clock_of(session_), attachment_timer_);
    decoder_reset(); // a partial binary packet dies with the connection
    auto sockets = std::move(sockets_);
    sockets_.clear();
    for (auto& s : sockets)
        s->close(from_engine(reason));
}

#if defined(__x86_64__) && defined(__GLIBCXX__)
// Every connection holds one (a make_shared block of 16 + 168 bytes: a 192-byte malloc chunk, 208 beyond).
static_assert(sizeof(client) <= 168, "a client grew");
#endif

} // namespace sio::detail
