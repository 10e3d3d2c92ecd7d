// Private to the library: the state behind sio::socket, and what it offers its adapter (socket_sink).
#pragma once

#include <sio/engineio/session.hpp>
#include <sio/protocol/packet.hpp>
#include <sio/recovery.hpp>
#include <sio/socket.hpp>
#include <sio/socket_sink.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/smart_ptr/intrusive_ptr.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "../engineio/strand.hpp"
#include "../engineio/teardown.hpp"

namespace sio::metrics_detail {
class registry;
} // namespace sio::metrics_detail

namespace sio::detail {

namespace net = boost::asio;
class client;
class namespace_impl;
class socket_impl;
struct event_inbox; // event_inbox.hpp: the events waiting for socket::receive()

/// The acknowledgement owed for one received event: to a client (`socket`, `id`), or to another server
/// (`reply`, for a server-side event).
struct ack_state {
    std::weak_ptr<socket_impl> socket;
    std::uint64_t id = 0;
    std::function<void(arguments)> reply;
    std::atomic<bool> sent{false};
};

/// Sends an encoded packet (text + attachments) as one unit on an Engine.IO session.
bool send_encoded(const engineio::session& session, const protocol::encoded_packet& packet, bool volatile_,
                  bool compress);
/// The same with the session's metrics registry already known (null: metrics off), as a socket knows it.
bool send_encoded(const engineio::session& session, metrics_detail::registry* metrics,
                  const protocol::encoded_packet& packet, bool volatile_, bool compress);

/// One socket: a client in one namespace. Immutable members are set at construction; handler tables are
/// strand-only; its rooms live in the namespace's adapter, which delivers to it through `socket_sink`.
class socket_impl : public std::enable_shared_from_this<socket_impl>,
                    public engineio::detail::abandonable,
                    public socket_sink {
public:
    /// `auth`: the CONNECT payload, for `handshake()`.
    socket_impl(std::shared_ptr<namespace_impl> nsp, std::shared_ptr<client> owner, std::string id,
                boost::json::object auth);
    ~socket_impl(); // session_coroutine.cpp (event_inbox is complete there)
    void abandon() noexcept override;

    const std::string id_;
    const std::shared_ptr<namespace_impl> nsp_;
    const std::weak_ptr<client> client_;
    const engineio::session session_;
    boost::json::value data_ = boost::json::object(); // `{}` like the reference's socket.data
    /// The session's strand, where the strand-only members below live.
    net::any_io_executor strand() const { return session_.executor(); }
    std::atomic<bool> connected_{false};
    bool recovered_ = false; ///< restored from a saved session (connection state recovery)
    /// Packets of a sliced broadcast not yet handed to this socket (fanout_queue.hpp); any thread. In the
    /// padding before `recovery_`.
    std::atomic<std::uint32_t> deferred_packets_{0};
    /// Connection state recovery, allocated only when the namespace recovers: set before the socket is
    /// admitted, then read-only.
    struct recovery_state {
        std::string pid; ///< the private id
        /// Strand-only, until the socket is admitted: the restored session (rooms, missed packets, the
        /// adapter's marks), handed to `adapter::add_recovered_socket`.
        std::optional<restored_session> restored;
    };
    std::unique_ptr<recovery_state> recovery_;

    // Strand-only.
    /// One `on_event` handler and its name, in one allocation: the name's characters follow the object.
    /// Counted (on the strand only, no atomics), so that a handler survives being replaced or cleared
    /// (disconnect) while it runs.
    class event_handler {
    public:
        static boost::intrusive_ptr<event_handler> make(std::string_view name,
                                                        std::function<void(socket, event&)> fn);
        std::string_view name() const noexcept {
            return {reinterpret_cast<const char*>(this + 1), name_size_};
        }
        const std::function<void(socket, event&)> fn;

        friend void intrusive_ptr_add_ref(event_handler* h) noexcept { ++h->refs_; }
        friend void intrusive_ptr_release(event_handler* h) noexcept {
            if (--h->refs_ == 0)
                destroy(h);
        }

    private:
        event_handler(std::function<void(socket, event&)> f, std::uint32_t name_size) noexcept
            : fn(std::move(f)), name_size_(name_size) {}
        static void destroy(event_handler* h) noexcept;
        std::uint32_t refs_ = 0;
        const std::uint32_t name_size_;
    };
    // A socket has a few handlers: a vector searched in order costs less than a hash table per socket.
    std::vector<boost::intrusive_ptr<event_handler>> handlers_;
    boost::intrusive_ptr<event_handler>* find_handler(std::string_view name) noexcept {
        for (auto& h : handlers_)
            if (h->name() == name)
                return &h;
        return nullptr;
    }
    /// The listeners most sockets never have, allocated on the first registration (strand-only).
    struct rare_listeners {
        std::vector<std::function<void(socket, const event&)>> any;
        std::vector<std::function<void(socket, std::string_view, const arguments&)>> any_outgoing;
        std::vector<std::function<std::optional<middleware_error>(socket, event&)>> middlewares;
        std::function<void(socket, const middleware_error&)> on_error;
        std::vector<std::function<void(socket, disconnect_reason)>> on_disconnecting;
        std::vector<std::function<void(socket, disconnect_reason)>> on_disconnect;
    };
    std::unique_ptr<rare_listeners> listeners_;
    rare_listeners& listeners_for_update() {
        if (!listeners_)
            listeners_ = std::make_unique<rare_listeners>();
        return *listeners_;
    }

    /// True while `listeners_->any_outgoing` is not empty (readable from any thread).
    std::atomic<bool> has_outgoing_listeners_{false};

    /// Encodes and sends; any thread. False when not connected.
    bool send(protocol::packet& p, bool volatile_, bool compress);
    void send_ack(std::uint64_t id, arguments args);
    /// Calls the `on_any_outgoing` listeners, on the strand (at once when already there); any thread.
    void notify_outgoing(std::string_view event, const arguments& args);

    // socket_sink: what the namespace's adapter does with this socket. Any thread.
    const std::string& id() const noexcept override { return id_; }
    bool connected() const noexcept override { return connected_.load(); }
    net::any_io_executor executor() const noexcept override { return strand(); }
    socket handle() const override;
    const protocol::packet_codec& codec() const noexcept override;
    bool send_encoded(const protocol::encoded_packet& packet, bool volatile_, bool compress) override;
    /// Emits with an ack id; `done` runs on this socket's strand.
    void start_ack(protocol::packet p, std::optional<std::chrono::milliseconds> timeout, bool compress,
                   std::function<void(ack_result)> done) override;
    bool has_outgoing_listeners() const noexcept override { return has_outgoing_listeners_.load(); }
    void notify_outgoing(std::shared_ptr<const outgoing_event> ev) override;

    /// Strand: an incoming packet for this socket; `text_bytes`: the size of the text message it came in
    /// (for the bound of the events waiting for receive()).
    void on_packet(protocol::packet&& p, std::size_t text_bytes = 0);
    /// Strand: leaves the namespace and runs the disconnect handlers.
    void close(disconnect_reason reason);
    /// Any thread: `socket.disconnect(close)`.
    void disconnect(bool close_connection);
    /// Strand: sends DISCONNECT and leaves the namespace ("server namespace disconnect").
    void leave_namespace();

    /// `socket.handshake()`: built on the first call (any thread), from the session's request.
    const sio::handshake& handshake() const;

    // A session as a coroutine (session_coroutine.cpp), strand only.
    /// Unhandled events are kept for receive(): a connection coroutine runs, or receive() was called
    /// without one (then kept up to the bound and dropped beyond it: reading is never held for them).
    bool keeps_received() const noexcept { return session_coroutines_ != 0 || receiving_; }
    /// An event no handler took: kept for receive() (bounded), or dropped.
    void keep_received(event&& ev, std::size_t bytes);
    /// The first waiting event (named `name` when given), or empty; releases the back-pressure below half
    /// the bound.
    std::optional<event> take_received(const std::optional<std::string>& name);
    /// Wakes every waiting receive() / disconnected().
    void wake_receivers() noexcept;
    /// Holds or releases reading from the connection after the events waiting for receive(), the waits
    /// or the pending acks changed: held while the bound is reached and the connection coroutine will
    /// come back for them (it called receive() and waits for nothing the connection must deliver first).
    void update_read_hold();
    void session_started() noexcept { ++session_coroutines_; }
    void session_ended();
    /// Created by the first kept event or wait; kept until the socket is destroyed (waiters hold it).
    event_inbox& inbox();
    bool has_inbox() const noexcept { return inbox_ != nullptr; }
    /// receive() was called; reset when the last connection coroutine ends.
    bool receiving_ = false;
    /// The disconnect reason + 1, 0 while connected (any thread).
    std::atomic<std::uint8_t> reason_{0};
    std::uint16_t session_coroutines_ = 0; ///< connection coroutines running

private:
    void on_event(protocol::packet&& p, std::size_t text_bytes);
    void complete_ack(std::uint64_t id, ack_result r);
    void run_outgoing(std::string_view event, const arguments& args);

    struct pending_ack {
        std::function<void(ack_result)> done;
        std::shared_ptr<net::steady_timer> timer;
    };
    bool closing_ = false;
    std::uint64_t next_ack_id_ = 0;
    std::unique_ptr<std::unordered_map<std::uint64_t, pending_ack>>
        acks_; // created by the first emit with ack
    // The handshake's parts until it is built: most applications never read it.
    const std::chrono::system_clock::time_point issued_;
    mutable boost::json::object auth_;
    mutable std::once_flag handshake_once_;
    mutable std::unique_ptr<const sio::handshake> handshake_;
    // Last: the small fields above fill the word after has_outgoing_listeners_.
    std::unique_ptr<event_inbox> inbox_; // see inbox()
};

} // namespace sio::detail
