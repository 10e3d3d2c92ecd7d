// Private to the library: one Engine.IO session, the state behind sio::engineio::session.
//
// The session core (session.cpp) holds the outgoing queue, the inbox other threads send into, the
// accounting of queued bytes, the close, the heartbeat (heartbeat.hpp) and the listener. A session
// writes through one transport at a time:
//   polling_transport.cpp           HTTP long-polling (handle_get / handle_post)
//   framed_websocket_transport.cpp  WebSocket framed by sio (plain TCP, no compression)
//   beast_websocket_transport.cpp   WebSocket on Beast's stream (TLS, permessage-deflate)
// Each WebSocket transport is an object answering the same calls of the core (websocket_transport.hpp):
// write what is queued (from notify), close (from close_transports), and whether it can write now;
// reading starts with run_*. They are not behind a virtual interface: the session holds the WebSocket
// transport (framed or Beast) by value in one variant, reached with std::visit, and an upgrade's probe in
// one allocation while it runs, so that an idle connection costs no more than before the split. Polling
// is the core's (its HTTP requests drive it). The upgrade from polling to either WebSocket kind follows
// one procedure (websocket_upgrade.cpp).
#pragma once

#include <sio/engineio/packet.hpp>
#include <sio/engineio/packet_v3.hpp>
#include <sio/engineio/server.hpp>
#include <sio/engineio/session.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "compact_request.hpp"
#include "heartbeat.hpp"
#include "heartbeat_wheel.hpp"
#include "out_packet.hpp"
#include "polling_transport.hpp"
#include "session_listener.hpp"
#include "small_mutex.hpp"
#include "strand.hpp"
#include "teardown.hpp"
#include "websocket_transport.hpp"
#include "websocket_upgrade.hpp"

namespace sio::engineio::detail {

/// What an Engine.IO v3 binary WebSocket frame starts with: the message type byte.
inline constexpr std::string_view v3_binary_frame_prefix{"\x04", 1};

namespace net = boost::asio;
namespace beast = boost::beast;

class server_impl;

/// One Engine.IO session. Mutable state is only touched on `strand_` unless it is atomic.
class session_impl final : public std::enable_shared_from_this<session_impl>,
                           public abandonable,
                           public wheel_client {
    // The transports (websocket_transport.hpp) work on the session's queue and state.
    friend struct no_websocket;
    friend struct framed_websocket;
    friend struct beast_websocket;

public:
    /// `strand`: the session's strand (make_session_strand, or the strand of the connection creating it).
    session_impl(std::shared_ptr<server_impl> server, std::string id, request_info request, transport_kind t,
                 net::any_io_executor strand);
    ~session_impl();
    session_impl(const session_impl&) = delete;
    session_impl& operator=(const session_impl&) = delete;
    void abandon() noexcept override;

    const std::string& id() const noexcept { return id_; }
    /// Built on the first call (compact_request.hpp); any thread.
    const request_info& request() const { return request_.get(); }
    /// The Engine.IO revision of the client: 4, or 3 (packet_v3.hpp). Set before start(), then fixed.
    int protocol() const noexcept { return protocol_; }
    /// Before start(): the client speaks Engine.IO v3 (`base64`: it asked for base64 binary, `b64`).
    void use_protocol_v3(bool base64) noexcept {
        protocol_ = 3;
        v3_base64_ = base64;
        heartbeat_.set_client_pings();
    }
    /// A v3 session whose binary goes out as binary (binary payloads over polling, binary frames with the
    /// type byte over WebSocket); false for a v3 client that asked for base64, and for v4.
    bool v3_binary() const noexcept { return protocol_ == 3 && !v3_base64_; }
    /// The manual clock a test gave the server, else null (manual_clock.hpp).
    sio::detail::manual_clock* test_clock() const noexcept;
    /// The server's metrics (src/metrics/), or null when off.
    sio::metrics_detail::registry* metrics() const noexcept;
    /// The session's strand (make_session_strand).
    const net::any_io_executor& strand() const noexcept override { return strand_; }
    /// The heartbeat wheel's call (strand only).
    void due(std::uint32_t generation) override;
    std::shared_ptr<wheel_client> lock_client() noexcept override { return weak_from_this().lock(); }
    transport_kind transport() const noexcept { return transport_.load(std::memory_order_acquire); }
    bool is_open() const noexcept { return !closing_.load(std::memory_order_acquire); }

    // Any thread.
    std::error_code send(out_packet p, bool volatile_, bool whole = false);
    /// `whole`: a full queue refuses the batch with `queue_full` whatever the overflow policy, and nothing
    /// else happens (the caller decides what follows).
    std::error_code send_batch(std::vector<out_packet> batch, bool volatile_, bool whole = false);
    void close(close_reason reason, std::string description);
    void close_gracefully();
    void set_message_handler(std::function<void(message&&)> h);
    void set_close_handler(std::function<void(close_reason, std::string_view)> h);
    void set_listener(std::shared_ptr<session_listener> l);

    /// A WebSocket message of the client as a packet, in the session's revision (v3: a binary frame starts
    /// with its type byte, text may be `b4` + base64). A parse error for a bad message.
    std::error_code decode_ws_message(bool text, std::string_view payload, packet& out) const;

    /// On the strand: queue the open packet, start the heartbeat and call the connection handler.
    void start();

    /// Back-pressure from the layer above (strand only; one holder, not counted): while held,
    /// no transport reads from the client. The framed WebSocket leaves its socket unwatched, Beast's
    /// reader and a polling POST wait for the release (the POST answers then). What a read already
    /// brought in is still delivered. A missing pong does not time the session out while reading is held.
    void hold_reading() noexcept { read_held_ = true; }
    void release_reading();
    bool reading_held() const noexcept { return read_held_; }

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
    /// `whole`: refused with `queue_full` and nothing else done, whatever the overflow policy.
    bool reserve(std::size_t bytes, std::size_t packets, std::error_code& result, bool whole = false);
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

    // --- the upgrade, one procedure for both WebSocket kinds (websocket_upgrade.cpp), strand only ---
    // The reader of the probing WebSocket calls upgrade_begin once, then upgrade_message for each message
    // it reads (and upgrade_answer_written after writing an answer), until the upgrade completes
    // (upgrade_completed) or fails (upgrade_fail; a probe that ends or errs fails too).
    /// Starts an upgrade on `probe`: false (nothing changed) when the session is not open on polling,
    /// another upgrade runs, or upgrades are not allowed. From now on no other upgrade starts, and the probe
    /// is cut when upgrade_timeout passes before the upgrade ends.
    bool upgrade_begin(std::shared_ptr<ws_stream> probe);
    bool upgrade_begin(framed_socket probe);
    /// What to do with a message the probe read (`text`: a text message, else binary).
    upgrade_action upgrade_message(bool text, std::string_view payload);
    /// The probe answer was written (`written`), or not: false when the upgrade must fail. When true, a
    /// parked GET is released (or the next one answered at once) with a noop, so the client can finish.
    bool upgrade_answer_written(bool written);
    /// The upgrade ended before it completed: the probe is forgotten, polling goes on. The caller closes it.
    void upgrade_fail();
    /// The client sent "5": the probe becomes the transport; what polling did not send goes over it
    /// (noops excepted), and a parked GET answers a noop. The caller installs its transport and starts it.
    void upgrade_completed();
    /// An upgrade may start: the session is open on polling, no other upgrade runs, upgrades are allowed.
    bool may_start_upgrade() const noexcept;
    /// The probe `owner` (its TCP socket `socket`) is registered: no other upgrade starts, and the socket
    /// is cut when upgrade_timeout passes while it still probes.
    void upgrade_started(std::shared_ptr<void> owner, net::ip::tcp::socket& socket);
    /// The probe in progress (its stream or socket), or null.
    const void* upgrade_probe() const noexcept;

    // --- the own-framed WebSocket's entry points (framed_websocket_transport.cpp), strand only ---
    /// Waits for the framed transport's socket to be readable, then framed_read(); again while it returns
    /// true. A transport whose output is full pauses instead (framed_websocket::resume_reading waits again).
    void framed_wait();
    struct framed_waiter;
    /// One readiness of `sock` (`wait_ec`: the wait's result), handed to the framed transport (which
    /// reads for a probe too). False once reading ends (the socket is closed then).
    bool framed_read(const framed_socket& sock, const boost::system::error_code& wait_ec);

    std::shared_ptr<server_impl> server_;
    const std::string id_;
    const compact_request request_; // packed until the first request()
    const net::any_io_executor strand_;
    std::atomic<transport_kind> transport_;
    std::atomic<bool> closing_{false}; // no more sends accepted
    std::atomic<bool> post_active_{false};
    char poll_close_body_ = '1';   // strand only: what a parked GET answers when the session closes
    bool read_held_ = false;       // strand only: the layer above holds reading (hold_reading)
    bool held_grace_used_ = false; // strand only: a ping timeout passed once while reading was held
    std::uint8_t protocol_ = 4;    // the Engine.IO revision (set before start)
    bool v3_base64_ = false;       // a v3 client that asked for base64 binary
    std::atomic<std::size_t> queued_bytes_{0};
    std::atomic<std::size_t> queued_packets_{0};

    // The small fields fill the word after the lock (the session's size is checked in session.cpp).
    small_mutex inbox_mutex_;
    bool service_posted_ = false; // guarded by inbox_mutex_: a drain_inbox() is posted
    // Strand-only state.
    using state = session_state;
    state state_ = state::open;
    bool get_active_ = false; // polling: a GET is parked
    bool upgrading_ = false;
    std::vector<inbound> inbox_;       // guarded by inbox_mutex_
    std::vector<inbound> inbox_spare_; // strand-only: what drain_inbox() swapped out

    std::vector<out_packet> queue_;
    // What a parked GET or the Beast WebSocket writer waits on, cancelled when packets are queued or the
    // state changes; a closed framed WebSocket bounds its closing handshake with it. Created on first use.
    std::unique_ptr<net::steady_timer> wake_;
    heartbeat heartbeat_;
    // Metrics only (strand only; left at 0 when metrics are off): when the session opened and when the
    // last ping went out, as wrapping 32-bit stamps of the heartbeat wheel's clock (metrics_stamp).
    std::uint32_t opened_stamp_ = 0;    // centiseconds: right for sessions shorter than 497 days
    std::uint32_t ping_sent_stamp_ = 0; // microseconds: right for pongs within 71 minutes of their ping
    /// A socket probing for an upgrade (one probe at a time), allocated while one does.
    struct upgrade_probe_state {
        std::shared_ptr<ws_stream> beast_probe;          // a Beast WebSocket probing for an upgrade
        framed_socket framed_probe;                      // a framed WebSocket probing for an upgrade
        std::optional<net::steady_timer> probe_deadline; // the probe's upgrade_timeout
    };
    std::unique_ptr<upgrade_probe_state> probe_;
    upgrade_probe_state& probe_state();
    /// The framed socket probing for an upgrade, or null.
    const framed_socket& framed_probe() const noexcept;
    /// The probe ended (failed or became the transport): forgets it and its deadline.
    void end_probe() noexcept;
    /// The WebSocket transport's state, held by value in place (no allocation, no pointer per session):
    /// none while polling, the framed WebSocket's (from the start of a framed probe: the probe reads with
    /// its parser; its socket is set once it is the transport), or Beast's.
    websocket_transport websocket_;
    /// The framed WebSocket's state, or null when the session holds none.
    framed_websocket* framed() noexcept { return std::get_if<framed_websocket>(&websocket_); }
    const framed_websocket* framed() const noexcept { return std::get_if<framed_websocket>(&websocket_); }
    /// A new framed WebSocket state (never while its parser runs: from a coroutine's start).
    framed_websocket& framed_reset();
    /// `sock` is the framed WebSocket transport's socket.
    bool is_framed_socket(const framed_socket& sock) const noexcept {
        const auto* f = framed();
        return f && f->socket == sock;
    }
    /// Who gets the messages and the close: the layer above, or the public hooks (strand only).
    std::shared_ptr<session_listener> listener_;
};

} // namespace sio::engineio::detail
