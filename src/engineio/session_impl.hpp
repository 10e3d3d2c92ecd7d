// Private to the library: one Engine.IO session, the state behind sio::engineio::session.
//
// The session core (session.cpp) holds the outgoing queue, the inbox other threads send into, the
// accounting of queued bytes, the close, the heartbeat (heartbeat.hpp) and the listener. A session
// writes through one transport at a time:
//   polling_transport.cpp           HTTP long-polling (handle_get / handle_post)
//   framed_websocket_transport.cpp  WebSocket framed by sio (plain TCP, no compression)
//   beast_websocket_transport.cpp   WebSocket on Beast's stream (TLS, permessage-deflate)
// Each transport answers the same three calls of the core: write what is queued (notify), close
// (close_transports), and start reading (run_*). They are not objects behind a virtual interface: a
// session holds the framed WebSocket's state by value and the rarer ones in one allocation while used,
// so that an idle connection costs no more than before the split. The upgrade from polling to either
// WebSocket kind follows one procedure (websocket_upgrade.cpp).
#pragma once

#include <sio/engineio/packet.hpp>
#include <sio/engineio/server.hpp>
#include <sio/engineio/session.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "beast_websocket_transport.hpp"
#include "framed_websocket_transport.hpp"
#include "heartbeat.hpp"
#include "heartbeat_wheel.hpp"
#include "out_packet.hpp"
#include "polling_transport.hpp"
#include "session_listener.hpp"
#include "small_mutex.hpp"
#include "strand.hpp"
#include "teardown.hpp"

namespace sio::engineio::detail {

namespace net = boost::asio;
namespace beast = boost::beast;

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
    /// The manual clock a test gave the server, else null (manual_clock.hpp).
    sio::detail::manual_clock* test_clock() const noexcept;
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

    // Polling (polling_transport.cpp); each runs on the strand (the HTTP connection co_spawns them there).
    net::awaitable<poll_result> handle_get();
    /// Claims the POST slot; false when a POST is already in progress on this session.
    bool begin_post() noexcept { return !post_active_.exchange(true); }
    void end_post() noexcept { post_active_.store(false); }
    net::awaitable<std::error_code> handle_post(std::vector<packet> packets, std::error_code decode_error);
    net::awaitable<void> handle_poll_aborted();

    // Beast's WebSocket (beast_websocket_transport.cpp); run on the strand, own the stream.
    net::awaitable<void> run_beast_websocket(std::shared_ptr<session_impl> self,
                                             std::shared_ptr<ws_stream> ws);
    net::awaitable<void> run_beast_upgrade(std::shared_ptr<session_impl> self, std::shared_ptr<ws_stream> ws);

    // The own-framed WebSocket (framed_websocket_transport.cpp).
    using framed_socket = detail::framed_socket;
    /// On the strand. `response`: the handshake's 101, written with the open packet. Reading goes on in
    /// handlers that hold the session (no coroutine: an idle connection holds one pending wait).
    void run_framed_websocket(framed_socket sock, std::string response);
    /// `response`: the handshake's 101, written first.
    net::awaitable<void> run_framed_upgrade(std::shared_ptr<session_impl> self, framed_socket sock,
                                            std::string response);

private:
    // --- the core (session.cpp) ---
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
    /// On the strand: the queue changed. The transport writes it: the framed WebSocket at once, the
    /// others by waking their writer (Beast's writer, or the parked GET).
    void notify();
    /// Wakes whoever waits in wait_for_wake() (or cancels the closing handshake's bound).
    void wake();
    net::steady_timer& wake_timer();
    net::awaitable<void> wait_for_wake();
    void push(out_packet p);
    /// A volatile packet may be queued: the transport can write it right now.
    bool writable() const noexcept;
    /// Reserves queue room; false when the packets must not be queued, `result` being what send returns.
    bool reserve(std::size_t bytes, std::size_t packets, std::error_code& result);
    void push_control(packet_type type, std::string_view data = {}); // heartbeat, open, noop, close
    /// A packet from the client, whatever the transport.
    void on_packet(packet&& p);
    /// Ends the session: the queue is dropped, the transports are closed (a framed WebSocket ending
    /// gracefully gets its closing handshake), the listener hears it.
    void do_close(close_reason reason, std::string description);
    void release(const out_packet& p) noexcept;
    /// The session closed: each transport and probe it holds is closed, at once or (`graceful`) after
    /// what the transport still has to write.
    void close_transports(bool graceful);

    // The heartbeat (heartbeat.hpp) on the server's wheel: one deadline at a time (strand only).
    /// Starts a cycle for the current state (ping interval, or the graceful close's bound).
    void heartbeat_arm();
    /// Does what the heartbeat decided: schedules its deadline, writes a ping, or closes.
    void heartbeat_do(heartbeat::step s);
    void heartbeat_cancel() noexcept;
    heartbeat::timing heartbeat_timing() const noexcept;

    // --- the upgrade, for both WebSocket kinds (websocket_upgrade.cpp) ---
    /// An upgrade may start: the session is open on polling, no other upgrade runs, upgrades are allowed.
    bool may_start_upgrade() const noexcept;
    /// The probe socket is accepted: from now on no other upgrade starts.
    void upgrade_started();
    /// The client's probe ("2probe") was answered ("3probe"): a parked GET is released (or the next one
    /// answered at once) with a noop, so the client can finish the upgrade.
    void upgrade_probe_answered();
    /// The upgrade ended before it completed: the probe is forgotten, polling goes on.
    void upgrade_failed();
    /// The client sent "5": the probe becomes the transport; what polling did not send goes over it
    /// (noops excepted), and a parked GET answers a noop. The caller installs its transport and starts it.
    void upgrade_completed();

    // --- Beast's WebSocket (beast_websocket_transport.cpp) ---
    net::awaitable<void> beast_reader(std::shared_ptr<session_impl> self, std::shared_ptr<ws_stream> ws);
    net::awaitable<void> beast_writer(std::shared_ptr<session_impl> self, std::shared_ptr<ws_stream> ws);

    // --- the own-framed WebSocket (framed_websocket_transport.cpp), strand only ---
    /// Waits for `sock` to be readable, then framed_read(); again while it returns true.
    void framed_wait(framed_socket sock);
    struct framed_waiter;
    /// One readiness of `sock` (`wait_ec`: the wait's result): reads what is there and hands it over.
    /// False once reading ends (the socket is closed then).
    bool framed_read(const framed_socket& sock, const boost::system::error_code& wait_ec);
    bool framed_read_end(const framed_socket& sock);
    /// One event of the frame parser; false stops reading.
    bool framed_event(const frame_parser::event& e, const framed_socket& sock);
    /// framed_event on the socket probing for an upgrade.
    bool framed_probe_event(const frame_parser::event& e, const framed_socket& sock);
    /// Writes the queue as frames: one non-blocking write, the rest (if any) by framed_write_rest.
    void framed_flush();
    /// Back-pressure: true while a write is blocked and what waits to be written (in flight, queued and
    /// control frames) has reached max_queued_bytes; the reader stops reading until it drains.
    bool framed_output_full() const noexcept;
    /// The write drained: a paused reader reads again.
    void framed_resume_reading();
    /// Writes `rest`, what a write left, while `framed_.writing` keeps framed_flush() away.
    net::awaitable<void> framed_write_rest(std::shared_ptr<session_impl> self, framed_socket sock,
                                           std::string rest);
    /// The closing handshake: a close frame, then the write side shuts down; the reader waits for the
    /// peer to end, at most ping_timeout.
    void framed_send_close();
    /// The probe `sock` failed: a close frame with `code`, then the socket is closed.
    void framed_probe_failed(const framed_socket& sock, std::uint16_t code);
    /// A protocol error on the transport: a close frame with `code`, then the session ends.
    void framed_fail(std::uint16_t code);
    /// The transport is closing (do_close): at once, or (graceful) after a closing handshake bounded by
    /// ping_timeout.
    void framed_close(bool graceful);

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
    // state changes; a closed framed WebSocket bounds its closing handshake with it. Created on first use.
    std::unique_ptr<net::steady_timer> wake_;
    heartbeat heartbeat_;
    bool get_active_ = false; // polling: a GET is parked
    bool upgrading_ = false;
    char poll_close_body_ = '1'; // what a parked GET answers when the session closes
    /// The transports most sessions never hold, allocated while one is: a Beast WebSocket (TLS,
    /// permessage-deflate) and a socket probing for an upgrade (one probe at a time).
    struct rare_transports {
        std::shared_ptr<ws_stream> beast;       // the Beast WebSocket transport, once in use
        std::shared_ptr<ws_stream> beast_probe; // a Beast WebSocket probing for an upgrade
        framed_socket framed_probe;             // a framed WebSocket probing for an upgrade
    };
    std::unique_ptr<rare_transports> rare_;
    rare_transports& rare();
    bool has_beast() const noexcept { return rare_ && rare_->beast; }
    /// The framed socket probing for an upgrade, or null.
    const framed_socket& framed_probe() const noexcept;
    /// The probe ended (failed or became the transport): forgets it.
    void end_probe() noexcept;
    framed_websocket framed_; // the framed WebSocket transport (its socket is null until in use)
    /// Who gets the messages and the close: the layer above, or the public hooks (strand only).
    std::shared_ptr<session_listener> listener_;
};

} // namespace sio::engineio::detail
