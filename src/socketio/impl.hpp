// Private to the library: the state behind sio::server, sio::namespace_ and sio::socket.
#pragma once

#include <sio/adapter/memory.hpp>
#include <sio/broadcast.hpp>
#include <sio/engineio/server.hpp>
#include <sio/namespace.hpp>
#include <sio/protocol/parser.hpp>
#include <sio/server.hpp>
#include <sio/socket.hpp>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/smart_ptr/intrusive_ptr.hpp>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "../engineio/session_listener.hpp"
#include "../engineio/strand.hpp"
#include "../engineio/teardown.hpp"

namespace sio::detail {

namespace net = boost::asio;
class client;
class server_impl;
class socket_impl;
class namespace_impl;

/// A one-shot slot that one coroutine awaits and any thread fills (`try_send`).
template <class T>
using result_channel = net::experimental::concurrent_channel<void(boost::system::error_code, T)>;

/// The acknowledgement owed for one received event: to a client (`socket`, `id`), or to another server
/// (`reply`, for a server-side event).
struct ack_state {
    std::weak_ptr<socket_impl> socket;
    std::uint64_t id = 0;
    std::function<void(arguments)> reply;
    std::atomic<bool> sent{false};
};

/// An EVENT packet `[event, args...]` for namespace `nsp` (binary attachments move along).
protocol::packet make_event_packet(std::string_view nsp, std::string_view event, arguments&& args);

/// Sends an encoded packet (text + attachments) as one unit on an Engine.IO session.
bool send_encoded(const engineio::session& session, const protocol::encoded_packet& packet, bool volatile_,
                  bool compress);

/// One socket: a client in one namespace. Immutable members are set at construction; handler tables are
/// strand-only; its rooms live in the namespace's adapter.
class socket_impl : public std::enable_shared_from_this<socket_impl>, public engineio::detail::abandonable {
public:
    /// `auth`: the CONNECT payload, for `handshake()`.
    socket_impl(std::shared_ptr<namespace_impl> nsp, std::shared_ptr<client> owner, std::string id,
                boost::json::object auth);
    void abandon() noexcept override;

    const std::string id_;
    const std::shared_ptr<namespace_impl> nsp_;
    const std::weak_ptr<client> client_;
    const engineio::session session_;
    boost::json::value data_ = boost::json::object(); // `{}` like the reference's socket.data
    /// The session's strand, where the strand-only members below live.
    net::any_io_executor strand() const { return session_.executor(); }
    std::atomic<bool> connected_{false};

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

    /// An outgoing event as the `on_any_outgoing` listeners see it.
    struct outgoing_event {
        std::string name;
        arguments args;
    };
    /// True while `listeners_->any_outgoing` is not empty (readable from any thread).
    std::atomic<bool> has_outgoing_listeners_{false};

    /// Encodes and sends; any thread. False when not connected.
    bool send(protocol::packet& p, bool volatile_, bool compress);
    /// Emits with an ack id; `done` runs on this socket's strand. Any thread.
    void start_ack(protocol::packet p, std::optional<std::chrono::milliseconds> timeout, bool compress,
                   std::function<void(ack_result)> done);
    void send_ack(std::uint64_t id, arguments args);
    /// Calls the `on_any_outgoing` listeners, on the strand (at once when already there); any thread.
    void notify_outgoing(std::string_view event, const arguments& args);
    void notify_outgoing(std::shared_ptr<const outgoing_event> ev);

    /// Strand: an incoming packet for this socket.
    void on_packet(protocol::packet&& p);
    /// Strand: leaves the namespace and runs the disconnect handlers.
    void close(disconnect_reason reason);
    /// Any thread: `socket.disconnect(close)`.
    void disconnect(bool close_connection);
    /// Strand: sends DISCONNECT and leaves the namespace ("server namespace disconnect").
    void leave_namespace();

    /// `socket.handshake()`: built on the first call (any thread), from the session's request.
    const sio::handshake& handshake() const;

private:
    void on_event(protocol::packet&& p);
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
};

/// One namespace. Its sockets and rooms live in its adapter.
class namespace_impl : public std::enable_shared_from_this<namespace_impl>,
                       public engineio::detail::abandonable,
                       public adapter_host {
public:
    /// A parent namespace (`is_parent`) keeps no sockets of its own: it gets a memory adapter whatever
    /// the server's adapter factory (its children get the factory's).
    namespace_impl(std::shared_ptr<server_impl> server, std::string name,
                   std::shared_ptr<namespace_impl> parent, bool is_parent = false);
    void abandon() noexcept override;

    const std::weak_ptr<server_impl> server_;
    const std::string name_;
    const std::shared_ptr<namespace_impl> parent_; // for dynamic children
    const net::any_io_executor executor_;

    // Registered before traffic, read afterwards (see namespace_ docs).
    std::vector<std::function<void(socket)>> on_connection_;
    std::vector<std::function<net::awaitable<void>(socket)>> on_connection_coro_;
    std::vector<namespace_::middleware> middlewares_;
    std::unordered_map<std::string, std::vector<std::function<void(event&)>>> server_side_handlers_;
    // For parent namespaces: a matcher and the children created so far.
    std::function<bool(std::string_view, const boost::json::object&)> matcher_;

    /// Set at construction, never replaced (except by `abandon`).
    sio::adapter& adapter() const noexcept { return *adapter_; }

    // adapter_host
    const std::string& name() const noexcept override { return name_; }
    net::any_io_executor executor() const override { return executor_; }
    std::shared_ptr<const void> anchor() const override { return weak_from_this().lock(); }
    void deliver_server_side(std::string event, arguments args,
                             std::function<void(arguments)> reply) override;

    /// The local sockets a broadcast selects (a parent: its children's).
    std::vector<socket> select(const broadcast_flags& f) const;
    void broadcast(protocol::packet p, const broadcast_flags& f);
    void add_child(std::shared_ptr<namespace_impl> child);
    void remove_child(const std::shared_ptr<namespace_impl>& child);
    /// Drops handlers, middlewares and children (server shutdown: breaks reference cycles).
    void clear_handlers();
    bool empty() const;
    std::vector<std::shared_ptr<namespace_impl>> children() const;

    mutable std::mutex mutex_;

private:
    std::unique_ptr<sio::adapter> adapter_;
    std::vector<std::shared_ptr<namespace_impl>> children_;
};

/// The Socket.IO side of one Engine.IO session. Strand-only except `close`. Owned by its session (as the
/// session's listener) until the session closes or is abandoned.
class client : public std::enable_shared_from_this<client>, public engineio::detail::session_listener {
public:
    client(std::shared_ptr<server_impl> server, engineio::session session);

    const std::shared_ptr<server_impl> server_;
    const engineio::session session_;

    void start();
    void remove(const std::string& nsp);
    /// Any thread: closes the connection.
    void close();
    /// Strand: every socket leaves its namespace (DISCONNECT, "server namespace disconnect"), then the
    /// connection closes (the reference's `client._disconnect()`, behind `socket.disconnect(true)`).
    void disconnect_all();

private:
    void on_message(engineio::message&& m) override;
    void on_close(engineio::close_reason reason, std::string_view description) override;
    void on_decoded(protocol::packet&& p);
    /// A CONNECT for namespace `name`: refused, admitted at once, or after the middlewares (a coroutine).
    void connect(const std::string& name, boost::json::object auth);
    net::awaitable<void> run_middlewares(std::shared_ptr<client> self, std::shared_ptr<socket_impl> s,
                                         std::shared_ptr<namespace_impl> nsp, std::string name,
                                         std::vector<namespace_::middleware> middlewares);
    /// The socket joins its namespace: CONNECT answered, added to the adapter, connection handlers run.
    void admit(const std::shared_ptr<socket_impl>& s, const std::shared_ptr<namespace_impl>& nsp,
               const std::string& name);
    /// Closes the connection. With a reason, its sockets leave at once with it (a packet not allowed in
    /// the connection's state: "forced server close", like the reference); without, they learn the
    /// engine's reason once the session is closed ("forced close" for a packet that does not parse).
    void fail(const char* why, std::optional<disconnect_reason> reason = std::nullopt);

    protocol::decoder decoder_;
    // A connection joins few namespaces: vectors, not hash tables, per connection.
    std::vector<std::shared_ptr<socket_impl>> sockets_; // one per namespace joined
    std::vector<std::string> connecting_;               // namespaces whose middlewares run
    std::shared_ptr<socket_impl>* find_socket(std::string_view nsp) noexcept {
        for (auto& s : sockets_)
            if (s->nsp_->name_ == nsp)
                return &s;
        return nullptr;
    }
    // Allocated while in use: connecting, waiting for attachments (an idle connection holds neither).
    std::unique_ptr<net::steady_timer> connect_timer_;
    std::unique_ptr<net::steady_timer> attachment_timer_;
    bool closed_ = false;
};

/// The server's shared state.
class server_impl : public std::enable_shared_from_this<server_impl> {
public:
    server_impl(net::any_io_executor ex, server_options opts);

    const net::any_io_executor executor_;
    const server_options options_;
    engineio::server engine_;

    std::shared_ptr<namespace_impl> of(std::string_view name);
    std::shared_ptr<namespace_impl>
    add_parent(std::function<bool(std::string_view, const boost::json::object&)> m);
    /// The namespace for a CONNECT: existing, or a new child of a matching parent; null if none.
    std::shared_ptr<namespace_impl> lookup(const std::string& name, const boost::json::object& auth);
    void remove_child_if_empty(const std::shared_ptr<namespace_impl>& nsp);
    std::vector<std::shared_ptr<namespace_impl>> namespaces() const;
    /// Every socket disconnects ("server shutting down"), then the engine closes gracefully within
    /// `deadline`, then the adapters close; `done` (may be empty) runs after that. Any thread, idempotent.
    void close(std::chrono::milliseconds deadline, std::function<void()> done);

private:
    void finish_close();

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<namespace_impl>> namespaces_;
    std::vector<std::shared_ptr<namespace_impl>> parents_;
    std::atomic<bool> closed_{false};
};

/// 20 URL-safe random characters (the same generator as Engine.IO session ids).
std::string generate_socket_id();

} // namespace sio::detail
