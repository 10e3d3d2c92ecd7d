// Private to the library: the state behind sio::engineio::server and sio::engineio::session.
#pragma once

#include <sio/engineio/packet.hpp>
#include <sio/engineio/server.hpp>
#include <sio/engineio/session.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "heartbeat.hpp"
#include "heartbeat_wheel.hpp"
#include "session_listener.hpp"
#include "small_mutex.hpp"
#include "static_route.hpp"
#include "strand.hpp"
#include "stream.hpp"
#include "teardown.hpp"
#include "ws_frame.hpp"

namespace sio::engineio::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
using ws_stream = beast::websocket::stream<stream>;

/// A packet waiting in a session's outgoing queue. `data` is shared between the recipients of a broadcast.
struct out_packet {
    packet_type type = packet_type::message;
    bool binary = false;
    bool compress = true;
    shared_payload data; // null for packets without data
    std::size_t size() const noexcept { return data ? data->size() : 0; }
};

/// What a polling GET answers.
struct poll_result {
    int status = 200;     // 200 with `body`, or an error status
    std::string body;     // the payload (empty for an error: the connection writes the error body)
    bool compress = true; // some packet allows compression (reference: HTTP compression only then)
};

class server_impl;

/// One Engine.IO session. Mutable state is only touched on `strand_` unless it is atomic.
class session_impl : public std::enable_shared_from_this<session_impl>,
                     public abandonable,
                     public wheel_client {
public:
    /// `strand`: the session's strand (make_session_strand, or the strand of the connection creating it).
    session_impl(std::shared_ptr<server_impl> server, std::string id, request_info request, transport_kind t,
                 net::any_io_executor strand);
    ~session_impl();
    session_impl(const session_impl&) = delete;
    session_impl& operator=(const session_impl&) = delete;
    void abandon() noexcept override;

    const std::string& id() const noexcept { return id_; }
    const request_info& request() const noexcept { return request_; }
    /// The session's strand (make_session_strand).
    const net::any_io_executor& strand() const noexcept override { return strand_; }
    /// The heartbeat wheel's call (strand only).
    void due(std::uint32_t generation) override;
    transport_kind transport() const noexcept { return transport_.load(std::memory_order_acquire); }
    bool is_open() const noexcept { return !closing_.load(std::memory_order_acquire); }

    // Any thread.
    std::error_code send(out_packet p, bool volatile_);
    std::error_code send_batch(std::vector<out_packet> batch, bool volatile_);
    void close(close_reason reason, std::string description);
    void close_gracefully();
    void set_message_handler(std::function<void(message&&)> h);
    void set_close_handler(std::function<void(close_reason, std::string_view)> h);
    void set_listener(std::shared_ptr<session_listener> l);

    /// On the strand: queue the open packet, start the heartbeat and call the connection handler.
    void start();

    // Polling; each runs on the strand (the HTTP connection co_spawns them there).
    net::awaitable<poll_result> handle_get();
    /// Claims the POST slot; false when a POST is already in progress on this session.
    bool begin_post() noexcept { return !post_active_.exchange(true); }
    void end_post() noexcept { post_active_.store(false); }
    net::awaitable<std::error_code> handle_post(std::vector<packet> packets, std::error_code decode_error);
    net::awaitable<void> handle_poll_aborted();

    // WebSocket; run on the strand, own the stream.
    net::awaitable<void> run_websocket(std::shared_ptr<session_impl> self, std::shared_ptr<ws_stream> ws);
    net::awaitable<void> run_upgrade(std::shared_ptr<session_impl> self, std::shared_ptr<ws_stream> ws);
    // A plain-TCP WebSocket without permessage-deflate, framed by the session itself (ws_frame.hpp): the
    // queued packets are written as pre-built frames, all of them in one write per wake-up.
    using raw_socket = std::shared_ptr<net::ip::tcp::socket>;
    /// On the strand. `response`: the handshake's 101, written with the open packet. Reading goes on in
    /// handlers that hold the session (no coroutine: an idle connection holds one pending wait).
    void run_raw_websocket(raw_socket sock, std::string response);
    /// `response`: the handshake's 101, written first.
    net::awaitable<void> run_raw_upgrade(std::shared_ptr<session_impl> self, raw_socket sock,
                                         std::string response);

private:
    /// A packet sent from any thread, waiting for the strand (send() takes a lock, not a strand hop).
    struct inbound {
        out_packet packet;
        bool volatile_ = false;
        bool follows = false; ///< part of a batch: queued or dropped with the packet before it
    };
    /// On the strand: moves the inbox to the queue, dropping what may not be queued.
    void drain_inbox();
    /// After a packet entered an empty inbox: posts drain_inbox() + notify() to the strand.
    void schedule_drain();
    /// On the strand: the queue changed; wakes the writer (or the parked GET), or writes (raw WebSocket).
    void notify();
    /// Wakes whoever waits in wait_for_wake() (or cancels the closing handshake's bound).
    void wake();
    net::steady_timer& wake_timer();
    net::awaitable<void> wait_for_wake();
    void push(out_packet p);
    bool writable() const noexcept;
    /// Reserves queue room; false when the packets must not be queued, `result` being what send returns.
    bool reserve(std::size_t bytes, std::size_t packets, std::error_code& result);
    void push_control(packet_type type, std::string_view data = {}); // heartbeat, open, noop, close
    void on_packet(packet&& p);
    void do_close(close_reason reason, std::string description);
    void finish_graceful_close_if_flushed();
    void release(const out_packet& p) noexcept;
    // The heartbeat (heartbeat.hpp) on the server's wheel: one deadline at a time (strand only).
    /// Starts a cycle for the current state (ping interval, or the graceful close's bound).
    void heartbeat_arm();
    /// Does what the heartbeat decided: schedules its deadline, writes a ping, or closes.
    void heartbeat_do(heartbeat::step s);
    void heartbeat_cancel() noexcept;
    heartbeat::timing heartbeat_timing() const noexcept;
    net::awaitable<void> ws_reader(std::shared_ptr<session_impl> self, std::shared_ptr<ws_stream> ws);
    net::awaitable<void> ws_writer(std::shared_ptr<session_impl> self, std::shared_ptr<ws_stream> ws);
    // The raw WebSocket (strand only).
    /// Waits for `sock` to be readable, then raw_read(); again while it returns true.
    void raw_wait(raw_socket sock);
    struct raw_waiter;
    /// One readiness of `sock` (`wait_ec`: the wait's result): reads what is there and hands it over.
    /// False once reading ends (the socket is closed then).
    bool raw_read(const raw_socket& sock, const boost::system::error_code& wait_ec);
    bool raw_read_end(const raw_socket& sock);
    /// One event of the frame parser; false stops reading.
    bool raw_event(const frame_parser::event& e, const raw_socket& sock);
    /// Writes the queue as frames: one non-blocking write, the rest (if any) by raw_write_rest.
    void flush();
    /// Back-pressure: true while a write is blocked and what waits to be written (in flight, queued and
    /// control frames) has reached max_queued_bytes; the reader stops reading until it drains.
    bool raw_output_full() const noexcept;
    /// The write drained: a paused reader reads again.
    void raw_resume_reading();
    /// Writes `rest`, what a write left, while `raw_writing_` keeps flush() away.
    net::awaitable<void> raw_write_rest(std::shared_ptr<session_impl> self, raw_socket sock,
                                        std::string rest);
    /// The closing handshake: a close frame, then the write side shuts down; the reader waits for the
    /// peer to end, at most ping_timeout.
    void raw_send_close();
    void raw_upgrade_failed(const raw_socket& sock, std::uint16_t code);
    /// An upgrade may start: the session is open on polling, no other upgrade runs, upgrades are allowed.
    bool may_start_upgrade() const noexcept;
    /// A protocol error on the transport: a close frame with `code`, then the session ends.
    void raw_fail(std::uint16_t code);

    std::shared_ptr<server_impl> server_;
    const std::string id_;
    const request_info request_;
    const net::any_io_executor strand_;
    std::atomic<transport_kind> transport_;
    std::atomic<bool> closing_{false}; // no more sends accepted
    std::atomic<bool> post_active_{false};
    std::atomic<std::size_t> queued_bytes_{0};
    std::atomic<std::size_t> queued_packets_{0};

    small_mutex inbox_mutex_;
    std::vector<inbound> inbox_;       // guarded by inbox_mutex_
    std::vector<inbound> inbox_spare_; // strand-only: what drain_inbox() swapped out
    bool service_posted_ = false;      // guarded by inbox_mutex_: a drain_inbox() is posted

    // Strand-only state.
    using state = session_state;
    state state_ = state::open;
    std::vector<out_packet> queue_;
    // What a parked GET or the Beast WebSocket writer waits on, cancelled when packets are queued or the
    // state changes; a closed plain WebSocket bounds its closing handshake with it. Created on first use.
    std::unique_ptr<net::steady_timer> wake_;
    heartbeat heartbeat_;
    bool get_active_ = false;
    bool upgrading_ = false;
    char poll_close_body_ = '1'; // what a parked GET answers when the session closes
    /// The transports most sessions never hold, allocated while one is: a Beast WebSocket (TLS,
    /// permessage-deflate) and a socket probing for an upgrade (one probe at a time).
    struct rare_transports {
        std::shared_ptr<ws_stream> ws;         // the Beast WebSocket transport, once in use
        std::shared_ptr<ws_stream> upgrade_ws; // a Beast WebSocket probing for an upgrade
        raw_socket upgrade_raw;                // a raw WebSocket probing for an upgrade
    };
    std::unique_ptr<rare_transports> rare_;
    rare_transports& rare();
    bool has_ws() const noexcept { return rare_ && rare_->ws; }
    /// The raw socket probing for an upgrade, or null.
    const raw_socket& upgrade_raw() const noexcept;
    /// The probe ended (failed or became the transport): forgets it.
    void end_probe() noexcept;
    raw_socket raw_; // the raw WebSocket transport, once in use
    frame_parser parser_;
    std::string raw_pending_;           // bytes to write before the next packets: the 101 response, a pong
    std::uint8_t raw_pending_pong_ = 0; // size of the pong frame that ends raw_pending_ (0: none)
    bool raw_writing_ = false;
    bool raw_read_paused_ = false; // back-pressure: the reader waits for the write to drain
    bool in_read_batch_ = false;   // the raw reader is handing a read's messages over
    bool raw_closing_ = false;     // the closing handshake starts once the last write is done
    std::uint16_t raw_close_code_ = static_cast<std::uint16_t>(ws_close_code::normal);
    /// Who gets the messages and the close: the layer above, or the public hooks (strand only).
    std::shared_ptr<session_listener> listener_;
};

/// The state shared by the server object, its connections and its sessions.
class server_impl : public std::enable_shared_from_this<server_impl>, public abandonable {
public:
    server_impl(net::any_io_executor ex, engine_options opts);
    void abandon() noexcept override;

    net::any_io_executor executor_;
    const engine_options options_;

    std::function<void(session)> on_connection_;
    std::function<net::awaitable<std::string>(const request_info&)> generate_id_;
    std::function<void(header_list&, const request_info&)> on_initial_headers_;
    std::function<void(header_list&, const request_info&)> on_headers_;
    std::function<void(const connection_error&)> on_connection_error_;
    /// Every session's heartbeat deadlines (one timer for the server).
    const std::shared_ptr<heartbeat_wheel> heartbeats_;
    /// Requests it answers are served before Engine.IO routing (set before listening).
    static_route static_route_;

    // The session table. Exact-match lookups only: no id is special.
    std::shared_ptr<session_impl> find(std::string_view sid) const;
    bool insert(const std::shared_ptr<session_impl>& s);
    void erase(const std::string& sid);
    std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

    /// A live HTTP connection, listed so that close() can end it. Intrusive: listing allocates nothing.
    struct listed_connection {
        std::weak_ptr<detail::stream> io; ///< the connection's stream
        listed_connection* prev = nullptr;
        listed_connection* next = nullptr;
        bool listed = false;
    };
    /// Lists `c` (until remove_connection); false when the server is closed, and `c` must end now.
    bool add_connection(listed_connection& c);
    void remove_connection(listed_connection& c) noexcept;
    /// Shuts the stream down and closes it, on its executor (any thread).
    static void end_connection(const std::weak_ptr<stream>& s);

    /// `tls`: null for plain TCP, else the context of every connection accepted (it outlives the server).
    void listen(net::ip::tcp::endpoint ep, std::error_code& ec, net::ssl::context* tls = nullptr);
    void accept(net::ip::tcp::socket socket, net::ssl::context* tls = nullptr);
    void close();
    /// Stops accepting and closes each session once its queued packets are written; after `deadline`
    /// what is left is closed at once (`close()`). `done` runs (on a strand of the executor) once every
    /// session is gone. A second call only adds its `done`.
    void close_gracefully(std::chrono::milliseconds deadline, std::function<void()> done);
    bool closed() const noexcept { return closed_.load(); }
    std::uint16_t port_ = 0;

private:
    net::awaitable<void> accept_loop(std::shared_ptr<net::ip::tcp::acceptor> acceptor,
                                     net::ssl::context* tls);

    mutable std::mutex mutex_;
    std::unordered_map<std::string_view, std::shared_ptr<session_impl>> sessions_; // keys view the ids
    listed_connection* connections_ = nullptr;                                     // the most recent first
    std::size_t connection_count_ = 0;
    /// Takes every listed connection off the list, appending their streams to `out` unless null (the lock
    /// held). Throws (bad_alloc) only before the list changes; with a null `out`, never.
    void unlist_connections(std::vector<std::weak_ptr<stream>>* out);
    std::atomic<std::size_t> count_{0};
    std::shared_ptr<net::ip::tcp::acceptor> acceptor_;
    std::atomic<bool> closed_{false};
    // Graceful close: no new session once draining; the drain timer (on drain_strand_) ends early when
    // the last session is erased.
    bool draining_ = false;
    std::shared_ptr<net::steady_timer> drain_timer_;
    std::vector<std::function<void()>> drained_handlers_;
    bool drained_ = false;
};

/// Serves one HTTP connection (defined in http_connection.cpp); with `tls`, after a TLS handshake bounded
/// by `header_timeout`.
net::awaitable<void> serve_connection(std::shared_ptr<server_impl> server, net::ip::tcp::socket socket,
                                      net::ssl::context* tls);
/// Serves a connection whose first request header the application read (`attach`), plain or TLS.
net::awaitable<void> serve_attached(std::shared_ptr<server_impl> server, stream s, beast::flat_buffer buffer,
                                    beast::http::request_header<> header);
/// True when the request target is under the server's path.
bool path_matches(const server_impl& server, std::string_view target);

} // namespace sio::engineio::detail
